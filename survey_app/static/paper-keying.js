// Keying paper forms from the keyboard only: one digit per answer box moves to the next box,
// a code outside the box's scale is refused on the spot (the server checks again), Enter
// leaves a box blank, Backspace in an empty box goes back. Without this file the page is a
// plain form the server validates.
(function () {
  "use strict";
  var form = document.getElementById("keying");
  var data = document.getElementById("keying-fields");
  if (!form || !data) { return; }
  var defs = {};
  JSON.parse(data.textContent).forEach(function (f) { defs[f.code] = f; });
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input.key"));
  var number = document.getElementById("form_number");
  var status = document.getElementById("keying-status");

  function def(box) { return defs[box.name]; }
  function message(box, text) {
    var out = document.getElementById("m-" + box.name);
    if (out) { out.textContent = text; }
    if (text) { box.setAttribute("aria-invalid", "true"); } else { box.removeAttribute("aria-invalid"); }
  }
  function allowed(f) { return f.codes.join(", "); }
  function move(box, step) {
    var i = boxes.indexOf(box) + step;
    if (i < 0) { number.focus(); number.select(); return; }
    if (i >= boxes.length) { document.getElementById("save").focus(); return; }
    boxes[i].focus();
    boxes[i].select();
  }
  function problem(box) {
    var f = def(box), value = box.value.trim();
    if (value === "") { return f.required ? box.name + ": bắt buộc, không được bỏ trống" : ""; }
    if (f.kind === "text") { return ""; }
    var digits = f.kind === "multi" ? value.replace(/[\s,;]+/g, "").split("") : [value];
    for (var k = 0; k < digits.length; k++) {
      if (!/^[0-9]+$/.test(digits[k]) || f.codes.indexOf(parseInt(digits[k], 10)) < 0) {
        return box.name + ": " + digits[k] + " ngoài thang trả lời (chỉ nhận " + allowed(f) + ")";
      }
    }
    return "";
  }
  function count() {
    var filled = boxes.filter(function (b) { return b.value.trim() !== ""; }).length;
    status.textContent = "Đã nhập " + filled + "/" + boxes.length + " câu";
  }
  function submitChecked() {
    var first = null;
    boxes.forEach(function (box) {
      var text = problem(box);
      message(box, text);
      if (text && !first) { first = box; }
    });
    if (number.value.trim() === "") { first = first || number; }
    if (first) { first.focus(); return false; }
    return true;
  }

  number.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      if (number.value.trim() !== "") { boxes[0].focus(); }
    }
  });
  boxes.forEach(function (box) {
    box.addEventListener("keydown", function (event) {
      var f = def(box);
      if (event.key === "Enter" && (event.ctrlKey || f.kind === "text")) {
        event.preventDefault();
        if (submitChecked()) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
        return;
      }
      if (event.ctrlKey || event.altKey || event.metaKey || f.kind === "text") { return; }
      if (event.key === "Enter" || event.key === "ArrowDown") {
        event.preventDefault();
        var text = problem(box);
        message(box, text);
        if (!text) { move(box, 1); }
        return;
      }
      if (event.key === "ArrowUp") { event.preventDefault(); move(box, -1); return; }
      if (event.key === "Backspace" && box.value === "") {
        event.preventDefault();
        move(box, -1);
        return;
      }
      if (event.key.length !== 1) { return; }  // Tab, Delete, arrows: as usual
      event.preventDefault();
      if (!/^[0-9]$/.test(event.key)) {
        message(box, box.name + ": chỉ gõ mã số (" + allowed(f) + ")");
        return;
      }
      var code = parseInt(event.key, 10);
      if (f.codes.indexOf(code) < 0) {
        message(box, box.name + ": " + event.key + " ngoài thang trả lời (chỉ nhận " + allowed(f) + ")");
        return;
      }
      message(box, "");
      if (f.kind === "multi") {
        if (box.value.indexOf(event.key) < 0) { box.value += event.key; }
      } else {
        box.value = event.key;
        move(box, 1);
      }
      count();
    });
  });
  form.addEventListener("submit", function (event) {
    if (!submitChecked()) { event.preventDefault(); }
  });
  count();
}());
