import { Param, type PipeTransform } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { DomainError } from '../errors/domain-error.js';
import type { ErrorCode } from '../errors/error-codes.js';
import { ULID, UUID } from '../ids/ids.js';

/**
 * The `:id` of a route, checked before the handler runs: an id that cannot
 * exist (not a UUID for a sale, not a ULID for an order or a notification) is
 * answered like an id that does not: 404 with the code of the missing thing.
 */
abstract class IdPipe implements PipeTransform<string, string> {
  protected abstract readonly format: RegExp;
  protected abstract readonly code: ErrorCode;
  protected abstract readonly message: string;

  transform(id: string): string {
    if (!this.format.test(id)) throw new DomainError(this.code, this.message);
    return id;
  }
}

/** A sale id is a UUID (any case), else 404 SALE_NOT_FOUND. */
export class ParseSaleIdPipe extends IdPipe {
  protected readonly format = UUID;
  protected readonly code = 'SALE_NOT_FOUND';
  protected readonly message = 'No such sale';
}

/** An order id is a ULID, else 404 ORDER_NOT_FOUND. */
export class ParseOrderIdPipe extends IdPipe {
  protected readonly format = ULID;
  protected readonly code = 'ORDER_NOT_FOUND';
  protected readonly message = 'No such order';
}

/** A notification id is a ULID, else 404 NOTIFICATION_NOT_FOUND. */
export class ParseNotificationIdPipe extends IdPipe {
  protected readonly format = ULID;
  protected readonly code = 'NOTIFICATION_NOT_FOUND';
  protected readonly message = 'No such notification';
}

const ULID_SCHEMA = { type: 'string', pattern: ULID.source, minLength: 26, maxLength: 26 } as const;

/** `@Param('id')` through `pipe`, and the path parameter as the OpenAPI document shows it. */
function idParam(pipe: new () => IdPipe, description: string, schema: object): ParameterDecorator {
  return (target, key, index) => {
    Param('id', pipe)(target, key, index);
    if (key !== undefined)
      ApiParam({ name: 'id', description, schema })(target, key, Object.getOwnPropertyDescriptor(target, key)!);
  };
}

/** The route's `:id`, a sale's (UUID). */
export const SaleId = (): ParameterDecorator =>
  idParam(ParseSaleIdPipe, 'Sale id (UUID)', { type: 'string', format: 'uuid' });

/** The route's `:id`, an order's (ULID). */
export const OrderId = (): ParameterDecorator => idParam(ParseOrderIdPipe, 'Order id (ULID)', ULID_SCHEMA);

/** The route's `:id`, a notification's (ULID). */
export const NotificationId = (): ParameterDecorator =>
  idParam(ParseNotificationIdPipe, 'Notification id (ULID)', ULID_SCHEMA);
