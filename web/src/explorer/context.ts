// Who is signed in, as the server said (`me`), shared by the pages.
import type { Me, Role } from "./types";

export type Principal = Me["me"];

const RANK: Record<Role, number> = { VIEWER: 0, CONTRIBUTOR: 1, APPROVER: 2, ADMIN: 3 };

/** Whether the principal holds at least `role`, globally or for `group`. A hint for the page only: the
 *  server checks every request itself and its refusal, with reasons, is what the page shows. */
export function holds(principal: Principal, role: Role, group?: string): boolean {
  const roles = [principal.role, ...principal.groupRoles.filter((g) => g.group === group).map((g) => g.role)];
  return roles.some((held) => held !== null && RANK[held] >= RANK[role]);
}
