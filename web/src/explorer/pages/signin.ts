// Sign in by pasting an API token; it is checked with `me` and kept for this tab only.
import { request } from "../api";
import type { Principal } from "../context";
import { h, replace } from "../dom";
import MeDocument from "../queries/Me.graphql";
import { signIn, signOut } from "../session";
import type { Me } from "../types";
import { failure } from "../widgets/failure";

export function renderSignIn(view: HTMLElement, onSignedIn: (principal: Principal) => void): void {
  const input = h("input", {
    type: "password",
    id: "token",
    name: "token",
    autocomplete: "off",
    placeholder: "lgt_…",
    required: true,
    size: 48,
  });
  const status = h("div", { class: "status" });
  const form = h(
    "form",
    { class: "signin", "aria-label": "Sign in" },
    h("h1", {}, "Sign in"),
    h(
      "p",
      {},
      "Paste an API token (",
      h("code", {}, "lineage-graph token create --name you --role viewer"),
      "). It is kept in this browser tab only and forgotten when the tab closes.",
    ),
    h("label", { for: "token" }, "API token "),
    input,
    " ",
    h("button", { type: "submit" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    signIn(input.value);
    replace(status, "Checking…");
    try {
      const { me } = await request<Me>(MeDocument);
      if (!me.authenticated) {
        throw new Error("the server did not recognise this token");
      }
      onSignedIn(me);
    } catch (error) {
      signOut();
      replace(status, failure(error, "Sign-in failed"));
    }
  });
  replace(view, form);
  input.focus();
}
