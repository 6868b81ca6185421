-- A sale's waiting room settings (null: the sale has none); see src/sales/waiting-room.ts.
ALTER TABLE "sales" ADD COLUMN "waiting_room" JSONB;
