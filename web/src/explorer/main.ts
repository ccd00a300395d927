// The explorer's shell: sign-in, the navigation bar and the hash router that picks a page.
import "./explorer.css";
import { request } from "./api";
import type { Principal } from "./context";
import { h, link, replace } from "./dom";
import { renderAudit } from "./pages/audit";
import { renderCompare } from "./pages/compare";
import { renderGroup } from "./pages/group";
import { renderImpact } from "./pages/impact";
import { renderLineage } from "./pages/lineage";
import { renderSearch } from "./pages/search";
import { renderSignIn } from "./pages/signin";
import { renderVersion } from "./pages/version";
import MeDocument from "./queries/Me.graphql";
import { currentRoute, navigate, routes } from "./router";
import { signOut, token } from "./session";
import type { Me } from "./types";
import { failure } from "./widgets/failure";

const nav = document.getElementById("nav") as HTMLElement;
const view = document.getElementById("view") as HTMLElement;
let principal: Principal | null = null;

function drawNav(): void {
  if (!principal) {
    replace(nav, h("strong", {}, "lineage-graph"), " explorer");
    return;
  }
  const out = h("button", { type: "button", class: "link" }, "Sign out");
  out.addEventListener("click", () => {
    signOut();
    principal = null;
    navigate(routes.signIn());
  });
  replace(
    nav,
    h("strong", {}, "lineage-graph"),
    link(routes.search(), "Search"),
    link(routes.audit(), "Audit log"),
    h("a", { href: "/graphql" }, "GraphiQL"),
    h("span", { class: "me" }, `${principal.name} · ${principal.role?.toLowerCase() ?? "no role"}`),
    out,
  );
}

async function show(): Promise<void> {
  const route = currentRoute();
  if (!principal && token()) {
    try {
      principal = (await request<Me>(MeDocument)).me;
    } catch {
      signOut();
    }
  }
  drawNav();
  if (!principal || route.page === "signin") {
    const back = route.page === "signin" ? (route.query.get("next") ?? routes.search()) : window.location.hash || routes.search();
    renderSignIn(view, (me) => {
      principal = me;
      drawNav();
      if (window.location.hash === back) {
        void show();
      } else {
        navigate(back);
      }
    });
    return;
  }
  const [first = "", second = ""] = route.segments;
  view.dataset.page = route.page;
  try {
    switch (route.page) {
      case "search":
        return await renderSearch(view, route.query);
      case "group":
        return await renderGroup(view, first);
      case "version":
        return await renderVersion(view, first, Number(second), principal);
      case "compare":
        return await renderCompare(view, (route.query.get("ids") ?? "").split(",").filter(Boolean));
      case "lineage":
        return await renderLineage(view, first, route.query);
      case "impact":
        return await renderImpact(view, first, principal);
      case "audit":
        return await renderAudit(view, route.query);
      default:
        replace(view, h("p", { role: "alert" }, "No such page. "), link(routes.search(), "Search"));
    }
  } catch (error) {
    replace(view, failure(error));
  }
}

window.addEventListener("hashchange", () => void show());
void show();
