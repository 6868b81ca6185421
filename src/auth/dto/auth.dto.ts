import { Transform } from 'class-transformer';
import { isEmail, IsOptional, IsString, Length, Matches, MaxLength, MinLength, ValidateBy } from 'class-validator';

const trimLower = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;
const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);
/** A UTF-16 surrogate that is not half of a pair (the `u` flag reads pairs as one code point). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * class-validator's IsEmail, except that a string with a lone surrogate is
 * refused: validator.js passes the address to encodeURI, which throws a
 * URIError on one (a 500 instead of a 400).
 */
function IsEmailAddress(): PropertyDecorator {
  return ValidateBy({
    name: 'isEmail',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !LONE_SURROGATE.test(value) && isEmail(value),
      defaultMessage: () => 'must be an email address',
    },
  });
}

export class RegisterDto {
  @Transform(trimLower)
  @IsEmailAddress()
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
  @IsEmailAddress()
  @MaxLength(254)
  email!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password!: string;
}
