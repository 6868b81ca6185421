import { describe, expect, it } from '@jest/globals';
import type { ArgumentMetadata } from '@nestjs/common';
import { ValidationPipe } from '@nestjs/common';
import { createValidationPipe } from '../../infra/http/validation.js';
import { PurchaseDto } from './purchase.dto.js';

const metadata: ArgumentMetadata = { type: 'body', metatype: PurchaseDto };
const reference = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
});

async function outcome(pipe: ValidationPipe, value: unknown): Promise<unknown> {
  try {
    const dto = (await pipe.transform(value, metadata)) as PurchaseDto;
    return { ok: dto instanceof PurchaseDto, quantity: dto.quantity };
  } catch {
    return 'refused';
  }
}

describe('PurchaseDto fast path', () => {
  it.each([
    [undefined],
    [{}],
    [{ quantity: 1 }],
    [{ quantity: 1000 }],
    [{ quantity: 0 }],
    [{ quantity: 1001 }],
    [{ quantity: 1.5 }],
    [{ quantity: '2' }],
    [{ quantity: null }],
    [{ other: 1 }],
    [{ quantity: 2, other: 1 }],
    [[]],
    ['text'],
    [null],
  ])('agrees with class-validator on %j', async (value) => {
    expect(await outcome(createValidationPipe(), value)).toEqual(await outcome(reference, value));
  });

  it('refuses a null quantity (it would otherwise reach the gate)', async () => {
    expect(await outcome(createValidationPipe(), { quantity: null })).toBe('refused');
  });
});
