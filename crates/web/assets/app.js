// accord web app: small helpers; every page works without them.
// - a "select all" checkbox (data-select-all="name") toggles the checkboxes of that name;
// - buttons with data-confirm ask before submitting their form.
document.addEventListener("change", function (e) {
  var box = e.target;
  if (box.matches && box.matches("input[data-select-all]")) {
    var name = box.getAttribute("data-select-all");
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (c) {
      c.checked = box.checked;
    });
  }
});
document.addEventListener("submit", function (e) {
  var button = e.submitter;
  var text = button && button.getAttribute("data-confirm");
  if (text && !window.confirm(text)) {
    e.preventDefault();
  }
});
