// The villagers' window: "对这笔有疑问" beside a payment chooses it in the complaint form below.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.ask[data-payment]") : null;
    if (!link) { return; }
    var choice = document.getElementById("payment_id");
    if (!choice) { return; }
    choice.value = link.getAttribute("data-payment");
    var text = document.getElementById("text");
    if (text) { window.setTimeout(function () { text.focus(); }, 0); }
  });
})();
