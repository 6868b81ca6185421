/** The answers of /auth, as classes for the OpenAPI document (the service returns interfaces). */
import { EXAMPLE } from '../../infra/openapi/examples.js';
import type { PublicUser } from '../auth.service.js';

export class PublicUserDto implements PublicUser {
  id!: string;
  email!: string;
  /** E.164. */
  phone!: string;
  name!: string | null;
  role!: 'CUSTOMER' | 'ADMIN';
  createdAt!: Date;
}

export class LoginAnswerDto {
  /** A JWT: send it as `Authorization: Bearer <token>`. */
  accessToken!: string;
  tokenType!: 'Bearer';
  /** The token's lifetime, as configured (JWT_EXPIRES_IN). */
  expiresIn!: string;
}

export const PUBLIC_USER_EXAMPLE = {
  id: EXAMPLE.userId,
  email: 'ana@example.com',
  phone: '+14155550123',
  name: 'Ana',
  role: 'CUSTOMER',
  createdAt: EXAMPLE.at,
};
