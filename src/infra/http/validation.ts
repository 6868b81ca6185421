import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { ValidateIf } from 'class-validator';
import { DomainError, type ErrorDetail } from '../errors/domain-error.js';

const TYPE_CHECKS = ['isString', 'isInt', 'isNumber', 'isBoolean', 'isDate', 'isEmail', 'matches'];

/** One problem per field, worded without repeating the field's name. */
function flatten(errors: ValidationError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const constraints = e.constraints ?? {};
    if (Object.keys(constraints).length === 0) return flatten(e.children ?? [], field);
    if (constraints.whitelistValidation) return [{ field, problem: 'is not an allowed field' }];
    if (e.value === undefined) return [{ field, problem: 'is required' }];
    if (e.value === null) return [{ field, problem: 'must not be null' }];
    // The type check says the most; then the first constraint class-validator reports.
    const key = TYPE_CHECKS.find((k) => k in constraints) ?? Object.keys(constraints)[0]!;
    const problem = constraints[key] ?? 'is invalid';
    return [{ field, problem: problem.startsWith(`${e.property} `) ? problem.slice(e.property.length + 1) : problem }];
  });
}

/**
 * Like @IsOptional(), but only a missing field skips the checks: `null` is
 * checked like any other value (and refused by a type check). For fields that
 * may be left out of an update but can never be null.
 */
export const IsOmittable = (): PropertyDecorator =>
  ValidateIf((_object: object, value: unknown) => value !== undefined);

/**
 * A DTO class may offer a fast path for its common, obviously valid shapes
 * (the buy request arrives tens of thousands of times a second). It returns
 * the instance, or undefined to let class-validator decide, so every invalid
 * input still gets class-validator's answer.
 */
export interface FastParsable<T> {
  fastParse(value: unknown): T | undefined;
}

function hasFastParse(metatype: unknown): metatype is FastParsable<unknown> {
  return typeof metatype === 'function' && typeof (metatype as Partial<FastParsable<unknown>>).fastParse === 'function';
}

class AppValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && hasFastParse(metadata.metatype)) {
      const parsed = metadata.metatype.fastParse(value);
      if (parsed !== undefined) return parsed;
    }
    return super.transform(value, metadata);
  }
}

/** DTO validation: unknown fields refused, values transformed, failures as VALIDATION_FAILED. */
export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      return new DomainError(
        'VALIDATION_FAILED',
        details.map((d) => `${d.field}: ${d.problem}`).join('; ') || 'Invalid request',
        details,
      );
    },
  });
}
