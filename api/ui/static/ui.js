// "Select all" for the bulk decisions. Delegated from the document, so it keeps working
// after htmx swaps the queue in place; closed reviews (disabled boxes) are never selected.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!(box instanceof HTMLInputElement) || box.id !== "select-all") return;
  var form = box.form || document.getElementById("bulk");
  if (!form) return;
  form.querySelectorAll('input[name="ids"]:not(:disabled)').forEach(function (item) {
    item.checked = box.checked;
  });
});
