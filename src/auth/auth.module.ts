import { createSecretKey, type KeyObject } from 'node:crypto';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { AuthConfig } from '../infra/config/app-config.js';
import { UsersModule } from '../users/users.module.js';
import { AuthController } from './auth.controller.js';
import { AuthGuard } from './auth.guard.js';
import { AuthService } from './auth.service.js';
import { AuthThrottle } from './auth-throttle.js';
import { PasswordHasher } from './password-hasher.js';
import { TokenVerifier } from './token-verifier.js';

/** Registration, login, and the global guard (HTTP process only). */
@Module({
  imports: [
    UsersModule,
    JwtModule.registerAsync({
      inject: [AuthConfig],
      useFactory: (config: AuthConfig) => ({
        // A KeyObject, not the string: given a string, jsonwebtoken first tries
        // to parse it as a PEM public key on every verify (measured: a third of
        // the API's CPU on the sold-out path).
        secretOrKeyProvider: () => key(config.JWT_SECRET),
        signOptions: { expiresIn: durationSeconds(config.JWT_EXPIRES_IN), algorithm: 'HS256' },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [AuthService, PasswordHasher, AuthThrottle, TokenVerifier, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthService, TokenVerifier],
})
export class AuthModule {}

let cachedKey: { secret: string; key: KeyObject } | undefined;
function key(secret: string): KeyObject {
  if (cachedKey?.secret !== secret) cachedKey = { secret, key: createSecretKey(Buffer.from(secret)) };
  return cachedKey.key;
}

export function durationSeconds(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value);
  if (!match) throw new Error(`bad duration ${value}`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
