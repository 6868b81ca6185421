-- CreateEnum
CREATE TYPE "RefundStatus" AS ENUM ('REFUNDED', 'REFUND_PENDING');

-- AlterTable
ALTER TABLE "orders" ADD COLUMN     "payment_claim" CHAR(26),
ADD COLUMN     "payment_claimed_until" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "payment_refunds" (
    "id" CHAR(26) NOT NULL,
    "order_id" CHAR(26) NOT NULL,
    "provider" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "reference" TEXT,
    "status" "RefundStatus" NOT NULL,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "payment_refunds_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "payment_refunds_idempotency_key_key" ON "payment_refunds"("idempotency_key");

-- CreateIndex
CREATE INDEX "payment_refunds_status_idx" ON "payment_refunds"("status");
