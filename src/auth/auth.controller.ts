import { Body, Controller, HttpCode, Inject, Ip, Post } from '@nestjs/common';
import { Public } from './auth.decorators.js';
import { AuthService, type PublicUser } from './auth.service.js';
import { LoginDto, RegisterDto } from './dto/auth.dto.js';

@Controller('auth')
@Public()
export class AuthController {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  @Post('register')
  register(@Body() dto: RegisterDto, @Ip() ip: string): Promise<PublicUser> {
    return this.auth.register(dto, ip);
  }

  @Post('login')
  @HttpCode(200)
  login(@Body() dto: LoginDto, @Ip() ip: string): Promise<{ accessToken: string }> {
    return this.auth.login(dto, ip);
  }
}
