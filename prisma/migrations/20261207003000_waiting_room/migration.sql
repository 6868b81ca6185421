-- AlterTable: the waiting room settings of a sale (null: none), see src/sales/waiting-room.ts
ALTER TABLE "sales" ADD COLUMN     "waiting_room" JSONB;
