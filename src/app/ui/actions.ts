// Destructive actions in the tools' own two steps: the first click asks the tool for a dry run and
// shows its plan (nothing changes); only "Confirm" then calls it again, same arguments, with
// confirm: true. Focus lands on Cancel, so a stray Enter never confirms.
import { h } from './dom.js';

export interface ToolAnswer {
  structured: any;
  text: string;
}
export type CallTool = (name: string, args: Record<string, unknown>) => Promise<ToolAnswer>;

export interface Action {
  /** Button label, e.g. "Roll back". */
  label: string;
  /** Label of the confirming button, e.g. "Confirm roll back". */
  confirmLabel: string;
  tool: string;
  /** The arguments of both calls, computed when clicked (form values). Throw to refuse with a message. */
  args: () => Record<string, unknown>;
  /** Lines describing the dry run's plan (besides the tool's own text). */
  plan?: (structured: any) => string[];
  danger?: boolean;
  testid: string;
}

/** A row of action buttons and the panel where a plan waits for confirmation. */
export function actionBar(call: CallTool, actions: Action[], onDone: () => void, extra?: HTMLElement): HTMLElement {
  const panel = h('div', {
    class: 'plan',
    hidden: true,
    'data-testid': 'plan',
    role: 'region',
    'aria-label': 'Planned change',
  });
  const status = h('p', { class: 'status', role: 'status', 'data-testid': 'action-status' });
  const buttons: HTMLButtonElement[] = [];
  const busy = (on: boolean) => {
    for (const b of buttons) b.disabled = on;
  };
  const close = () => {
    panel.hidden = true;
    panel.replaceChildren();
    busy(false);
  };
  const start = async (a: Action) => {
    let args: Record<string, unknown>;
    try {
      args = a.args();
    } catch (err) {
      status.textContent = (err as Error).message;
      return;
    }
    busy(true);
    status.textContent = `${a.label}: asking for a dry run…`;
    let dry: ToolAnswer;
    try {
      dry = await call(a.tool, { ...args, dry_run: true });
    } catch (err) {
      status.textContent = `${a.label}: ${(err as Error).message}`;
      busy(false);
      return;
    }
    status.textContent = '';
    const cancel = h(
      'button',
      {
        type: 'button',
        'data-testid': 'plan-cancel',
        onclick: () => {
          close();
          status.textContent = `${a.label}: cancelled, nothing changed.`;
        },
      },
      'Cancel',
    );
    const confirm = h(
      'button',
      {
        type: 'button',
        class: a.danger ? 'danger' : 'primary',
        'data-testid': 'plan-confirm',
        onclick: async () => {
          confirm.disabled = true;
          cancel.disabled = true;
          status.textContent = `${a.label}: applying…`;
          try {
            const done = await call(a.tool, { ...args, confirm: true });
            status.textContent = done.text;
          } catch (err) {
            status.textContent = `${a.label} failed: ${(err as Error).message}`;
          }
          close();
          onDone();
        },
      },
      a.confirmLabel,
    );
    panel.replaceChildren(
      h('h3', {}, `${a.label} — dry run, nothing changed yet`),
      h('p', { 'data-testid': 'plan-text' }, dry.text),
      ...(a.plan?.(dry.structured) ?? []).map((line) => h('p', { class: 'plan-line' }, line)),
      h('div', { class: 'row' }, confirm, cancel),
    );
    panel.hidden = false;
    cancel.focus();
  };
  for (const a of actions) {
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          class: a.danger ? 'danger-outline' : '',
          'data-testid': a.testid,
          onclick: () => void start(a),
        },
        a.label,
      ),
    );
  }
  return h(
    'section',
    { class: 'actions', 'aria-label': 'Actions' },
    extra ?? null,
    h('div', { class: 'row' }, ...buttons),
    panel,
    status,
  );
}
