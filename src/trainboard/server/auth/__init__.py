"""Authentication (issue 12): users, tokens, sessions, the gate every route sits behind, audit."""
