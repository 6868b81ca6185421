import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, IsIn, IsInt, IsString, Matches, Max, Min, MinLength, ValidateBy, ValidateIf } from 'class-validator';

/**
 * One decorator per kind of setting, so that each setting of a config slice
 * is one line: `@Int({ min: 0, max: 60_000 }) HANDOFF_LINGER_MS = 5;`. The
 * property is the env variable's name, its initializer the default. They are
 * class-validator's own checks (and messages) underneath.
 */

type Decorator = PropertyDecorator;

/** Only checked when `when` holds (an optional setting, or one another setting asks for). */
export type When = (slice: Record<string, unknown>) => boolean;

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }): unknown =>
  value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;

function checkedIf(when: When | undefined, ...checks: Decorator[]): Decorator {
  return applyDecorators(...(when ? [ValidateIf((o: object) => when(o as Record<string, unknown>))] : []), ...checks);
}

/** A whole number, optionally within [min, max]. */
export function Int({ min, max }: { min?: number; max?: number } = {}): Decorator {
  return applyDecorators(
    Transform(toInt),
    IsInt(),
    ...(min === undefined ? [] : [Min(min)]),
    ...(max === undefined ? [] : [Max(max)]),
  );
}

/** `true`/`false` (or `1`/`0`). */
export function Bool(): Decorator {
  return applyDecorators(Transform(toBool), IsIn([true, false], { message: 'must be true or false' }));
}

/** One of a fixed list of words. */
export function OneOf(values: readonly string[]): Decorator {
  return IsIn(values as string[]);
}

/** Free text, optionally of a least length. */
export function Text({
  minLength,
  message,
  when,
}: { minLength?: number; message?: string; when?: When } = {}): Decorator {
  return checkedIf(
    when,
    IsString(),
    ...(minLength === undefined ? [] : [MinLength(minLength, message ? { message } : undefined)]),
  );
}

/** Text matching a pattern; `message` says what is expected (`must be …`). */
export function Format(pattern: RegExp, message: string, when?: When): Decorator {
  return checkedIf(when, Matches(pattern, { message }));
}

/** Text that `parse` accepts (returns something other than undefined). */
export function Parsed(parse: (value: string) => unknown, message: string): Decorator {
  return ValidateBy({
    name: 'parsed',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && parse(value) !== undefined,
      defaultMessage: () => message,
    },
  });
}

/** An email address. */
export function Email(when?: When): Decorator {
  return checkedIf(when, IsEmail());
}

/** `when` for a setting that is optional: checked only when it is not empty. */
export function given(name: string): When {
  return (slice) => slice[name] !== '';
}

/** An http(s):// URL; `when` says when it must be there (else empty is fine). */
export function HttpUrl(message = 'must be an http(s):// URL', when?: When): Decorator {
  return Format(/^https?:\/\/\S+$/, message, when);
}
