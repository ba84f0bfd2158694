// Claim pages: the out-of-pocket figure on the application form, computed as the amounts are
// typed (the server computes it again; the form works without this script).
(function () {
  var form = document.getElementById("claim-form");
  var out = document.getElementById("oop");
  if (!form || !out) { return; }
  function fen(name) {
    var el = form.elements[name];
    var s = (el && el.value || "").replace(/,/g, "").trim();
    if (s === "") { return 0; }
    if (!/^\d+(\.\d{1,2})?$/.test(s)) { return null; }
    var parts = s.split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }
  function show() {
    var t = fen("total"), b = fen("basic"), s = fen("serious"), a = fen("assistance");
    if (t === null || b === null || s === null || a === null || t === 0) {
      out.textContent = "请填写金额";
      return;
    }
    var v = t - b - s - a;
    var neg = v < 0;
    v = Math.abs(v);
    var yuan = String(Math.floor(v / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var cents = String(v % 100);
    if (cents.length < 2) { cents = "0" + cents; }
    out.textContent = (neg ? "-" : "") + yuan + "." + cents + " 元" + (neg ? "（报销合计超过总费用，请核对）" : "");
  }
  form.addEventListener("input", show);
  show();
})();
