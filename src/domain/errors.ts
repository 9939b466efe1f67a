/** The API's error types (wire-contract §0.6). */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'api_error'
  | 'overloaded_error'
  | 'memory_precondition_failed_error'
  | 'memory_path_conflict_error'
  | 'conflict_error'
  | 'request_too_large';

/**
 * An error the API reports to the client in its own envelope. Domain code throws these; the
 * HTTP layer turns them into the response. Anything else thrown is a bug and becomes a 500.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }

  /**
   * Deterministic failures the SDK must not retry (it retries every 409 unless told not to); a
   * 503 (storage trouble) is one it should, and is told so.
   */
  get shouldRetry(): boolean | undefined {
    if (this.status === 409 || this.status === 412) return false;
    if (this.status === 503) return true;
    return undefined;
  }
}

export const invalid = (message: string, details?: Record<string, unknown>) => new ApiError(400, 'invalid_request_error', message, details);

export const notFound = (what: string, id: string) => new ApiError(404, 'not_found_error', `${what} not found: ${id}`);

export const conflict = (message: string) => new ApiError(409, 'conflict_error', message);
