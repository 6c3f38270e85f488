/*
 * LeadFlow embed loader: renders a LeadFlow capture form on any website and posts it back.
 *
 *   <div data-leadflow-form="FORM_KEY"></div>
 *   <script src="https://crm.example.com/static/js/embed.js" async></script>
 *
 * The form's address is found from this script's own address (two folders up from
 * static/js/), or from data-leadflow-host="https://crm.example.com" on the div. The site
 * must be one of the form's allowed origins. No dependencies, no cookies, no build step.
 *
 * Carried in hidden fields: utm_source, utm_medium, utm_campaign, utm_term, utm_content,
 * gclid and fbclid from the page's address, the page's referrer and the page itself as the
 * landing page. Each rendering has its own Idempotency-Key, so a double click or a retry
 * after a lost answer stores one submission.
 */
(function () {
  "use strict";

  var CARRIED = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid"];
  var script = document.currentScript;
  var defaultHost = script && script.src ? new URL("../../", script.src).href : "";
  var STYLE =
    ".leadflow-form{display:grid;gap:.6rem;max-width:32rem}" +
    ".leadflow-form label{display:block;font-weight:600;margin-bottom:.2rem}" +
    ".leadflow-form input[type=text],.leadflow-form input[type=email],.leadflow-form input[type=tel]," +
    ".leadflow-form input[type=number]{box-sizing:border-box;width:100%;padding:.4rem}" +
    ".leadflow-form .leadflow-consent label{display:inline;font-weight:400}" +
    ".leadflow-error{color:#c53030;font-size:.9em;margin:.2rem 0 0}" +
    ".leadflow-hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === true) node.setAttribute(name, "");
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, String(value));
    });
    if (text) node.textContent = text;
    return node;
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function attribution() {
    var params = new URLSearchParams(window.location.search);
    var carried = {};
    CARRIED.forEach(function (name) {
      if (params.get(name)) carried[name] = params.get(name);
    });
    if (document.referrer) carried.referrer = document.referrer;
    carried.landing_page = window.location.href;
    return carried;
  }

  function addStyle() {
    if (document.getElementById("leadflow-style")) return;
    var style = el("style", { id: "leadflow-style" });
    style.textContent = STYLE;
    document.head.appendChild(style);
  }

  function render(container, def) {
    var idempotencyKey = newKey();
    var prefix = "leadflow-" + def.key + "-";
    var form = el("form", { class: "leadflow-form", novalidate: true });
    var errors = {};

    if (def.title) form.appendChild(el("h3", { class: "leadflow-title" }, def.title));
    def.fields.forEach(function (field) {
      var box = el("div", { class: "leadflow-field" });
      box.appendChild(el("label", { for: prefix + field.name }, field.label + (field.required ? " *" : "")));
      box.appendChild(el("input", {
        id: prefix + field.name,
        name: field.name,
        type: field.type,
        required: field.required,
        maxlength: field.max_length,
        autocomplete: field.autocomplete,
        "aria-describedby": prefix + field.name + "-error",
      }));
      errors[field.name] = box.appendChild(el("p", { class: "leadflow-error", id: prefix + field.name + "-error" }));
      form.appendChild(box);
    });
    if (def.consent) {
      var consent = el("div", { class: "leadflow-field leadflow-consent" });
      consent.appendChild(el("input", { id: prefix + "consent", name: "consent", type: "checkbox", required: true }));
      consent.appendChild(document.createTextNode(" "));
      consent.appendChild(el("label", { for: prefix + "consent" }, def.consent.text));
      errors.consent = consent.appendChild(el("p", { class: "leadflow-error" }));
      form.appendChild(consent);
      form.appendChild(el("input", { type: "hidden", name: "consent_version", value: def.consent.version }));
    }
    // The honeypot: people never see it, bots fill it in.
    var trap = el("div", { class: "leadflow-hp", "aria-hidden": "true" });
    trap.appendChild(el("label", { for: prefix + "website" }, def.texts.honeypot));
    trap.appendChild(el("input", { id: prefix + "website", name: "website", type: "text", tabindex: "-1", autocomplete: "off" }));
    form.appendChild(trap);
    var carried = attribution();
    Object.keys(carried).forEach(function (name) {
      form.appendChild(el("input", { type: "hidden", name: name, value: carried[name] }));
    });
    var button = form.appendChild(el("button", { type: "submit", class: "leadflow-submit" }, def.texts.submit));
    var status = form.appendChild(el("p", { class: "leadflow-status", role: "status", "aria-live": "polite" }));

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (button.disabled) return;
      Object.keys(errors).forEach(function (name) { errors[name].textContent = ""; });
      status.textContent = def.texts.sending;
      status.className = "leadflow-status";
      button.disabled = true;
      var body = {};
      Array.prototype.forEach.call(form.elements, function (input) {
        if (!input.name) return;
        body[input.name] = input.type === "checkbox" ? input.checked : input.value;
      });
      fetch(def.action, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": idempotencyKey },
        body: JSON.stringify(body),
      })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            return { ok: response.ok, data: data };
          });
        })
        .then(function (result) {
          if (result.ok) {
            if (result.data.redirect_url) {
              window.location.assign(result.data.redirect_url);
              return;
            }
            var thanks = el("p", { class: "leadflow-thanks", role: "status" }, result.data.message || def.thank_you_message);
            form.replaceWith(thanks);
            return;
          }
          var problem = result.data.error || {};
          Object.keys(problem.fields || {}).forEach(function (name) {
            var target = errors[name] || status;
            target.textContent = problem.fields[name].join(" ");
          });
          status.textContent = problem.message || def.texts.failed;
          status.className = "leadflow-status leadflow-error";
          button.disabled = false;
        })
        .catch(function () {
          status.textContent = def.texts.failed;
          status.className = "leadflow-status leadflow-error";
          button.disabled = false;
        });
    });

    container.textContent = "";
    container.appendChild(form);
  }

  function load(container) {
    if (container.getAttribute("data-leadflow-ready")) return;
    container.setAttribute("data-leadflow-ready", "loading");
    var key = container.getAttribute("data-leadflow-form");
    var host = container.getAttribute("data-leadflow-host") || defaultHost;
    var url = { href: "(no data-leadflow-host)" };
    Promise.resolve()
      .then(function () {
        url = new URL("f/" + encodeURIComponent(key) + "/definition/", host.replace(/\/?$/, "/"));
        return fetch(url.href, { credentials: "omit", headers: { Accept: "application/json" } });
      })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (def) {
        addStyle();
        render(container, def);
        container.setAttribute("data-leadflow-ready", "yes");
      })
      .catch(function (error) {
        container.setAttribute("data-leadflow-ready", "failed");
        container.textContent = "";
        container.appendChild(el("p", { class: "leadflow-error", role: "alert" }, "This form could not be loaded."));
        if (window.console) {
          console.warn(
            "LeadFlow: form " + key + " could not be loaded from " + url.href + " (" + error.message + "). " +
            "Is " + window.location.origin + " one of the form's allowed origins?"
          );
        }
      });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-leadflow-form]"), load);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
