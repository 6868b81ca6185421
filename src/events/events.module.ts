import { Module } from '@nestjs/common';
import { OutboxWriter, ProcessedEvents } from './outbox.js';

/** Durable events between modules: the outbox writer and the consumers' dedupe. */
@Module({ providers: [OutboxWriter, ProcessedEvents], exports: [OutboxWriter, ProcessedEvents] })
export class EventsModule {}
