// The credential (an API key or a JWT) lives in sessionStorage only: it leaves with the tab,
// it is never put in a URL, a cookie or localStorage, and signing out removes it.

const SLOT = "spark.credential";

export function credential() {
  return sessionStorage.getItem(SLOT);
}

export function remember(token) {
  sessionStorage.setItem(SLOT, token);
}

export function forget() {
  sessionStorage.removeItem(SLOT);
}
