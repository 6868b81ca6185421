import { Module } from '@nestjs/common';
import { OutboxBacklog } from './outbox-backlog.js';
import { OutboxWriter, ProcessedEvents } from './outbox.js';
import { OutboxRepository } from './outbox.repository.js';

/** Durable events between modules: the outbox writer, the consumers' dedupe, and the relay's backlog. */
@Module({
  providers: [OutboxWriter, ProcessedEvents, OutboxRepository, OutboxBacklog],
  exports: [OutboxWriter, ProcessedEvents, OutboxBacklog],
})
export class EventsModule {}
