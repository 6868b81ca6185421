// Admin sign-in for the pages under /admin: POST /auth/login gives a token,
// POST /admin/session turns it into an HttpOnly cookie for /admin; then the
// page that asked for sign-in is loaded again.
const form = document.getElementById('signin');
const problem = document.getElementById('problem');

async function json(response) {
  try {
    return await response.json();
  } catch {
    return {};
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  problem.textContent = '';
  const data = new FormData(form);
  const login = await fetch('/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: data.get('email'), password: data.get('password') }),
  });
  const body = await json(login);
  if (!login.ok) {
    problem.textContent = body.message || `Sign-in failed (${login.status})`;
    return;
  }
  const session = await fetch('/admin/session', {
    method: 'POST',
    headers: { authorization: `Bearer ${body.accessToken}` },
  });
  if (!session.ok) {
    problem.textContent = (await json(session)).message || `Sign-in failed (${session.status})`;
    return;
  }
  location.reload();
});
