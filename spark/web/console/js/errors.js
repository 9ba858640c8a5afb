// The API's error object {code, message, details}, as an exception the panels can show.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details ?? null;
  }

  static async from(response) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: the status is all there is to say
    }
    const error = body?.error ?? {};
    return new ApiError(
      response.status,
      error.code ?? `http_${response.status}`,
      error.message ?? `${response.status} ${response.statusText}`,
      error.details,
    );
  }
}
