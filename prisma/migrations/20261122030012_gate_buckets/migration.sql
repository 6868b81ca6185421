-- AlterTable
ALTER TABLE "sales" ADD COLUMN     "gate_buckets" INTEGER NOT NULL DEFAULT 1;
