// The kanban board: SortableJS drags a card between columns, htmx posts the move and
// swaps in the re-rendered board (totals included). Won and lost ask for a reason first;
// cancelling puts the card back by re-rendering the board.
(function () {
  const dialog = () => document.getElementById("close-dialog");

  function reload() {
    const board = document.getElementById("board");
    if (board) htmx.ajax("GET", board.dataset.boardUrl, { target: "#board", swap: "outerHTML" });
  }

  function move(card, stage, reason, note) {
    htmx.ajax("POST", card.dataset.moveUrl, {
      target: "#board",
      swap: "outerHTML",
      values: { stage: stage, reason: reason, note: note },
    });
  }

  function askReason(card, stage, outcome) {
    const box = dialog();
    box.querySelectorAll("[data-for], [data-title-won], [data-title-lost]").forEach((el) => {
      const kind = el.dataset.for || (el.hasAttribute("data-title-won") ? "won" : "lost");
      el.hidden = kind !== outcome;
    });
    box.querySelector("#close-note").value = "";
    box.onclose = () => {
      if (box.returnValue === "ok") {
        const reason = box.querySelector(`#close-reason-${outcome}`).value;
        move(card, stage, reason, box.querySelector("#close-note").value);
      } else {
        reload();
      }
    };
    box.returnValue = "";
    box.showModal();
  }

  function init() {
    document.querySelectorAll("#board .cards").forEach((list) => {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      Sortable.create(list, {
        group: "deals",
        draggable: ".deal",
        animation: 150,
        // Pointer events instead of native HTML5 drag: the same on touch screens, mice
        // and in browser tests.
        forceFallback: true,
        filter: "details, select, button, input",
        preventOnFilter: false,
        onEnd: (event) => {
          if (event.from === event.to) return;
          const column = event.to.closest(".column");
          const outcome = column.dataset.outcome;
          if (outcome === "won" || outcome === "lost") {
            askReason(event.item, column.dataset.stage, outcome);
          } else {
            move(event.item, column.dataset.stage, "", "");
          }
        },
      });
    });
  }

  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
})();
