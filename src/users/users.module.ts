import { Module } from '@nestjs/common';
import { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';

/** Owns `users`: accounts and contacts, through UsersService. */
@Module({ providers: [UsersRepository, UsersService], exports: [UsersService] })
export class UsersModule {}
