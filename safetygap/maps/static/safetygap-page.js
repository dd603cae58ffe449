/* safetygap text pages (area and ward pages): the print button. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-sg-print]"), function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  });
})();
