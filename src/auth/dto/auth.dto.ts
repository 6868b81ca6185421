import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, Length, Matches, MaxLength, MinLength } from 'class-validator';

const trimLower = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;
const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

export class RegisterDto {
  @Transform(trimLower)
  @IsEmail({}, { message: 'must be an email address' })
  @MaxLength(254)
  email!: string;

  /** E.164: + and 7 to 15 digits, the form SMS gateways take. */
  @Transform(trim)
  @Matches(/^\+[1-9]\d{6,14}$/, { message: 'must be an E.164 phone number such as +14155550123' })
  phone!: string;

  @IsString()
  @MinLength(8, { message: 'must be at least 8 characters' })
  @MaxLength(128)
  password!: string;

  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name?: string;
}

export class LoginDto {
  @Transform(trimLower)
  @IsEmail({}, { message: 'must be an email address' })
  @MaxLength(254)
  email!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password!: string;
}
