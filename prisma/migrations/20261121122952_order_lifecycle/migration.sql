-- CreateEnum
CREATE TYPE "ReservationStatus" AS ENUM ('RESERVED', 'RETURNED', 'VOIDED');

-- AlterTable
ALTER TABLE "sales" ADD COLUMN     "payment_window_seconds" INTEGER;

-- CreateTable
CREATE TABLE "inventory_reservations" (
    "order_id" CHAR(26) NOT NULL,
    "sale_id" UUID NOT NULL,
    "quantity" INTEGER NOT NULL,
    "status" "ReservationStatus" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "inventory_reservations_pkey" PRIMARY KEY ("order_id")
);

-- CreateTable
CREATE TABLE "payments" (
    "id" CHAR(26) NOT NULL,
    "order_id" CHAR(26) NOT NULL,
    "provider" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "reference" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "payments_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "inventory_reservations_sale_id_status_idx" ON "inventory_reservations"("sale_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "payments_order_id_key" ON "payments"("order_id");

-- AddForeignKey
ALTER TABLE "payments" ADD CONSTRAINT "payments_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Hand-written backfill: orders that reserved stock before this migration get
-- their reservation row, so cancelling them returns the units exactly once.
-- Reserved means AWAITING_PAYMENT or PAID, or PENDING with an inventory.reserved
-- event already written for it.
INSERT INTO "inventory_reservations" ("order_id", "sale_id", "quantity", "status", "updated_at")
SELECT o."id", o."sale_id", o."quantity", 'RESERVED', now()
FROM "orders" o
WHERE o."status" IN ('AWAITING_PAYMENT', 'PAID')
   OR (o."status" = 'PENDING' AND EXISTS (
        SELECT 1 FROM "outbox_events" e WHERE e."type" = 'inventory.reserved' AND e."aggregate_id" = o."id"))
ON CONFLICT ("order_id") DO NOTHING;
