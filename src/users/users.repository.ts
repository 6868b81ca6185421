import { Inject, Injectable } from '@nestjs/common';
import { Prisma, type Role, type User } from '../generated/prisma/client.js';
import { PrismaService } from '../infra/prisma/prisma.service.js';

export interface NewUser {
  email: string;
  phone: string;
  name?: string;
  passwordHash: string;
  role?: Role;
}

@Injectable()
export class UsersRepository {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  /** Creates the user; null when the email is taken (unique constraint, race-safe). */
  async create(user: NewUser): Promise<User | null> {
    try {
      return await this.prisma.user.create({ data: user });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') return null;
      throw err;
    }
  }

  findByEmail(email: string): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { email } });
  }

  findById(id: string): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { id } });
  }

  /** When the account was created; null when there is no such account. */
  async createdAt(id: string): Promise<Date | null> {
    const row = await this.prisma.user.findUnique({ where: { id }, select: { createdAt: true } });
    return row?.createdAt ?? null;
  }

  /** Email, phone and name of these users (missing ids left out). */
  contacts(ids: string[]): Promise<{ id: string; email: string; phone: string; name: string | null }[]> {
    return this.prisma.user.findMany({
      where: { id: { in: ids } },
      select: { id: true, email: true, phone: true, name: true },
    });
  }
}
