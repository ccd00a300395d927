// A refused or failed request as the server explained it: the message, its code, and each problem's reason.
import { RequestFailed } from "../api";
import { h } from "../dom";

export function failure(error: unknown, title = "The server refused the request"): HTMLElement {
  if (!(error instanceof RequestFailed)) {
    return h("div", { class: "failure", role: "alert" }, h("strong", {}, "Something went wrong: "), String(error));
  }
  const problems = error.problems;
  return h(
    "div",
    { class: "failure", role: "alert", "data-code": error.code ?? "" },
    h("strong", {}, title),
    error.code ? h("span", { class: "code" }, error.code) : null,
    h("p", {}, error.errors[0]?.message ?? error.message),
    problems.length > 0
      ? h(
          "ul",
          { class: "problems" },
          problems.map((problem) =>
            h("li", { "data-problem": problem.code }, h("code", {}, problem.code), " ", problem.field ? `${problem.field}: ` : "", problem.message),
          ),
        )
      : null,
  );
}

export function loading(): HTMLElement {
  return h("p", { class: "loading" }, "Loading…");
}
