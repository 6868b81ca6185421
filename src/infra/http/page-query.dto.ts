import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** Far beyond any real list; keeps `(page - 1) * pageSize` a small integer (`page=1e20` is an integer too). */
export const MAX_PAGE = 100_000;

/** `?page=&pageSize=` of every paged list. */
export class PageQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  page = 1;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  pageSize = 20;
}

/** One page of a list, as every paged route answers it. */
export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  /** Items of the whole list. */
  total: number;
}

/** The page the query asked for: its items, of `total` in the whole list. */
export function pageOf<T>(query: Pick<Page<T>, 'page' | 'pageSize'>, items: T[], total: number): Page<T> {
  return { items, page: query.page, pageSize: query.pageSize, total };
}
