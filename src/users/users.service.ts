import { Inject, Injectable } from '@nestjs/common';
import type { User } from '../generated/prisma/client.js';
import { UsersRepository, type NewUser } from './users.repository.js';

export type { NewUser };

/** How a user is reached (for messages about their orders). */
export interface Contact {
  email: string;
  phone: string;
  name: string | null;
}

/** The users module's face to the others: accounts (for auth), contacts (for notifications), account age (for the anti-bot screen). */
@Injectable()
export class UsersService {
  constructor(@Inject(UsersRepository) private readonly users: UsersRepository) {}

  /** Creates the user; null when the email is taken (race-safe). */
  create(user: NewUser): Promise<User | null> {
    return this.users.create(user);
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findByEmail(email);
  }

  /** When the account was created (the anti-bot screen's account age); null when there is no such account. */
  createdAt(id: string): Promise<Date | null> {
    return this.users.createdAt(id);
  }

  /** The contact of each of these users that exists. */
  async contacts(ids: string[]): Promise<Map<string, Contact>> {
    if (ids.length === 0) return new Map();
    const rows = await this.users.contacts([...new Set(ids)]);
    return new Map(rows.map(({ id, ...contact }) => [id, contact]));
  }
}
