import { Module } from '@nestjs/common';
import { GateService } from './gate.service.js';

@Module({ providers: [GateService], exports: [GateService] })
export class GateModule {}
