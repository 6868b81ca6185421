import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { User } from '../generated/prisma/client.js';
import { AuthConfig } from '../infra/config/app-config.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { UsersService } from '../users/users.service.js';
import { AuthThrottle } from './auth-throttle.js';
import type { TokenClaims } from './auth.types.js';
import type { LoginDto, RegisterDto } from './dto/auth.dto.js';
import { PasswordHasher } from './password-hasher.js';

export interface PublicUser {
  id: string;
  email: string;
  phone: string;
  name: string | null;
  role: User['role'];
  createdAt: Date;
}

export function publicUser(user: User): PublicUser {
  return {
    id: user.id,
    email: user.email,
    phone: user.phone,
    name: user.name,
    role: user.role,
    createdAt: user.createdAt,
  };
}

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    @Inject(UsersService) private readonly users: UsersService,
    @Inject(JwtService) private readonly jwt: JwtService,
    @Inject(AuthConfig) private readonly config: AuthConfig,
    @Inject(PasswordHasher) private readonly passwords: PasswordHasher,
    @Inject(AuthThrottle) private readonly throttle: AuthThrottle,
  ) {}

  /** `ip`: the client's address, for the per-address throttle. */
  async register(dto: RegisterDto, ip: string): Promise<PublicUser> {
    await this.throttle.register(ip);
    this.passwords.ensureRoom();
    const user = await this.users.create({
      email: dto.email,
      phone: dto.phone,
      name: dto.name,
      passwordHash: await this.passwords.hash(dto.password),
    });
    if (!user) throw new DomainError('EMAIL_TAKEN', 'An account with this email exists');
    return publicUser(user);
  }

  /**
   * Same answer and about the same time for an unknown email as for a wrong
   * password. Throttled per address and per account before any hashing.
   */
  async login(dto: LoginDto, ip: string): Promise<{ accessToken: string; tokenType: 'Bearer'; expiresIn: string }> {
    await this.throttle.login(dto.email, ip);
    this.passwords.ensureRoom();
    const user = await this.users.findByEmail(dto.email);
    const ok = await this.passwords.verify(dto.password, user?.passwordHash);
    if (!user || !ok) throw new DomainError('INVALID_CREDENTIALS', 'Email or password is wrong');
    await this.throttle.loginSucceeded(dto.email);
    return { accessToken: this.sign(user), tokenType: 'Bearer', expiresIn: this.config.JWT_EXPIRES_IN };
  }

  sign(user: Pick<User, 'id' | 'role'>): string {
    const claims: TokenClaims = { sub: user.id, role: user.role };
    return this.jwt.sign(claims);
  }

  /** The admin from ADMIN_EMAIL/ADMIN_PASSWORD, created once (safe with many API copies). */
  async onApplicationBootstrap(): Promise<void> {
    const { ADMIN_EMAIL: email, ADMIN_PASSWORD: password } = this.config;
    if (!email || !password) return;
    if (await this.users.findByEmail(email.toLowerCase())) return;
    const created = await this.users.create({
      email: email.toLowerCase(),
      phone: '+10000000000',
      name: 'Administrator',
      passwordHash: await this.passwords.hash(password),
      role: 'ADMIN',
    });
    if (created) this.logger.log(`created admin account ${created.email}`);
  }
}
