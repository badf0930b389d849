"""Constants shared by the AuthLibrary tests (conftest puts this folder on sys.path)."""

SECRET = "test-secret-that-is-at-least-64-characters-long-for-hs512-0123456789"
ISSUER = "auth.example.test"
AUDIENCE = "chat-api"
