// Admins: the users list — add (role + password), change role, disable/enable, remove (inline confirmation).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { fmtTime } from "../lib/format";
import { ROLES, createUser, deleteUser, listUsers, updateUser, type Role, type UserInfo } from "./api";

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function UsersPanel({ me }: { me: string }) {
  const qc = useQueryClient();
  const users = useQuery({ queryKey: ["auth", "users"], queryFn: listUsers });
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const done = () => {
    setError(null);
    void qc.invalidateQueries({ queryKey: ["auth"] });
  };
  const fail = (what: string) => (e: unknown) => setError(`cannot ${what}: ${message(e)}`);
  const update = useMutation({
    mutationFn: (v: { name: string; body: { role?: Role; disabled?: boolean } }) => updateUser(v.name, v.body),
    onSuccess: done,
    onError: fail("change the user"),
  });
  const remove = useMutation({
    mutationFn: (name: string) => deleteUser(name),
    onSuccess: () => {
      setConfirm(null);
      done();
    },
    onError: fail("remove the user"),
  });

  return (
    <div>
      <AddUserForm onAdded={done} />
      {error && <p className="error">{error}</p>}
      {users.isError && <p className="error">cannot load users: {message(users.error)}</p>}
      {users.data && (
        <div className="table-wrap">
          <table className="auth-table" aria-label="users">
            <thead>
              <tr>
                <th>NAME</th>
                <th>ROLE</th>
                <th>STATE</th>
                <th>CREATED</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.data.map((u: UserInfo) => (
                <tr key={u.name} data-user={u.name} className={u.disabled ? "muted" : ""}>
                  <td className="user-name">
                    {u.name}
                    {u.name === me ? <span className="muted"> (you)</span> : null}
                  </td>
                  <td>
                    <select
                      className="input"
                      aria-label={`role of ${u.name}`}
                      value={u.role}
                      disabled={update.isPending}
                      onChange={(e) => update.mutate({ name: u.name, body: { role: e.target.value as Role } })}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td className={u.disabled ? "red" : "green"}>{u.disabled ? "disabled" : "active"}</td>
                  <td className="num">{fmtTime(u.created_at)}</td>
                  <td className="actions">
                    <button
                      className="btn"
                      disabled={update.isPending}
                      onClick={() => update.mutate({ name: u.name, body: { disabled: !u.disabled } })}
                    >
                      {u.disabled ? "ENABLE" : "DISABLE"}
                    </button>{" "}
                    {confirm === u.name ? (
                      <span className="confirm">
                        remove “{u.name}” and revoke their tokens?{" "}
                        <button className="btn danger" onClick={() => remove.mutate(u.name)}>
                          YES, REMOVE
                        </button>{" "}
                        <button className="btn" onClick={() => setConfirm(null)}>
                          CANCEL
                        </button>
                      </span>
                    ) : (
                      <button className="btn danger" onClick={() => setConfirm(u.name)}>
                        REMOVE
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function AddUserForm({ onAdded }: { onAdded(): void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await createUser({ name: name.trim(), role, password });
      setName("");
      setPassword("");
      onAdded();
    } catch (err) {
      setError(`cannot add the user: ${message(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <form className="toolbar auth-form" onSubmit={(e) => void submit(e)} aria-label="add a user">
        <label>
          <span>name</span>
          <input className="input" name="new-user" required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          <span>role</span>
          <select className="input" name="new-user-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>password</span>
          <input
            className="input"
            name="new-user-password"
            type="password"
            autoComplete="new-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button className="btn" type="submit" disabled={busy || !name.trim() || !password}>
          ADD USER
        </button>
      </form>
      {error && <p className="error">{error}</p>}
    </>
  );
}
