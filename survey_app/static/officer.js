// Officer workspace, progressive enhancement only: every page works without this file.
// Ask before an action that cannot be undone from the page (revoke, deactivate, delete).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
// The period picker's quick choice fills the period box and shows it.
document.addEventListener("change", function (event) {
  var pick = event.target;
  if (pick.classList && pick.classList.contains("period-pick") && pick.value) {
    pick.form.elements.period.value = pick.value;
    pick.form.submit();
  }
});
