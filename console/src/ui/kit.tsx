// The console's small set of building blocks: every page is made of these,
// so focus, loading, empty and error states look and behave the same
// everywhere.
import { useId, useState, type ReactNode } from 'react';
import type { CombinedError } from 'urql';
import { describeError } from '../errors';

/** A page: its heading (focused on navigation by the layout) and content. */
export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-header">
        <h1 id="page-title" tabIndex={-1}>
          {title}
        </h1>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

/**
 * A refusal or failure, in plain words (`words` overrides them by error
 * code where the page knows better); announced to screen readers.
 */
export function ErrorNote({
  error,
  words,
}: {
  error: CombinedError | undefined;
  words?: Partial<Record<string, string>>;
}) {
  if (!error) return null;
  return (
    <p className="note note-error" role="alert">
      {describeError(error, words)}
    </p>
  );
}

/** A success message; announced politely. */
export function Notice({ children }: { children: ReactNode }) {
  return (
    <p className="note note-ok" role="status">
      {children}
    </p>
  );
}

/**
 * Placeholder rows while the first answer is on its way: the same height as
 * the content that replaces them, so nothing shifts.
 */
export function Loading({ rows = 3, label = 'Loading' }: { rows?: number; label?: string }) {
  return (
    <div className="loading" role="status" aria-label={label}>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" />
      ))}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** A labelled input. */
export function Field({
  label,
  hint,
  ...input
}: { label: string; hint?: string } & React.InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      {hint ? (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      ) : null}
    </div>
  );
}

/** A labelled select of `options` ([value, label]). */
export function SelectField({
  label,
  options,
  ...select
}: { label: string; options: ReadonlyArray<readonly [string, string]> } & React.SelectHTMLAttributes<HTMLSelectElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} {...select}>
        {options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

/**
 * A destructive action that asks once more in place: the first press shows
 * "Confirm" and "Cancel" (no browser dialog).
 */
export function ConfirmButton({
  children,
  confirmLabel,
  onConfirm,
  disabled,
  'aria-label': ariaLabel,
}: {
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  disabled?: boolean;
  /** Names the row the action is for (e.g. `Remove Val`). */
  'aria-label'?: string;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        className="button button-danger"
        disabled={disabled}
        aria-label={ariaLabel}
        onClick={() => setAsking(true)}
      >
        {children}
      </button>
    );
  }
  return (
    <span className="confirm">
      <button
        type="button"
        className="button button-danger"
        autoFocus
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" className="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** A secret shown once (a token, a signing secret), with a copy button. */
export function SecretOnce({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="secret" role="status">
      <p>
        <strong>{label}</strong> It is shown only now: copy it somewhere safe.
      </p>
      <code className="secret-value">{value}</code>
      <button
        type="button"
        className="button"
        onClick={() => {
          void navigator.clipboard?.writeText(value).then(() => setCopied(true));
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

/** A date and time in the reader's locale. */
export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span>—</span>;
  const date = new Date(at);
  return <time dateTime={at}>{date.toLocaleString()}</time>;
}
