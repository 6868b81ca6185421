import { Body, Controller, HttpCode, Inject, Ip, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Answers } from '../infra/openapi/answers.js';
import { Public } from './auth.decorators.js';
import { AuthService, type PublicUser } from './auth.service.js';
import { LoginDto, RegisterDto } from './dto/auth.dto.js';
import { LoginAnswerDto, PUBLIC_USER_EXAMPLE, PublicUserDto } from './dto/auth-views.dto.js';

@ApiTags('auth')
@Controller('auth')
@Public()
export class AuthController {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  @Post('register')
  @Answers({
    status: 201,
    body: PublicUserDto,
    example: PUBLIC_USER_EXAMPLE,
    errors: ['EMAIL_TAKEN', 'RATE_LIMITED', 'BUSY'],
    requestExample: { email: 'ana@example.com', phone: '+14155550123', password: 'correct horse battery', name: 'Ana' },
  })
  register(@Body() dto: RegisterDto, @Ip() ip: string): Promise<PublicUser> {
    return this.auth.register(dto, ip);
  }

  @Post('login')
  @HttpCode(200)
  @Answers({
    status: 200,
    body: LoginAnswerDto,
    example: { accessToken: 'eyJhbGciOi…', tokenType: 'Bearer', expiresIn: '12h' },
    errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED', 'BUSY'],
    requestExample: { email: 'ana@example.com', password: 'correct horse battery' },
  })
  login(@Body() dto: LoginDto, @Ip() ip: string): Promise<{ accessToken: string }> {
    return this.auth.login(dto, ip);
  }
}
