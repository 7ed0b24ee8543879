/* Pitch In listings: <script async src=".../embed.js" data-categories="ENGLISH_CLASSES" data-lat="51.45" data-lng="-0.24" data-radius-km="10"></script> */
(function () {
  var me = document.currentScript;
  if (!me || !me.src) return;
  var origin = new URL(me.src).origin;
  var names = {organisation: "organisation", categories: "categories", skills: "skills", text: "text", lat: "lat", lng: "lng", radiusKm: "radiusKm", remote: "remote", order: "order", limit: "limit", accent: "accent", font: "font", density: "density", partner: "partner"};
  var query = new URLSearchParams();
  for (var key in names) {
    var value = me.dataset[key];
    if (value) query.set(names[key], value);
  }
  var frame = document.createElement("iframe");
  frame.src = origin + "/embed/needs?" + query.toString();
  frame.title = me.dataset.title || "Volunteering opportunities";
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox");
  frame.setAttribute("loading", "lazy");
  frame.style.cssText = "display:block;width:100%;border:0;height:420px";
  me.parentNode.insertBefore(frame, me.nextSibling);
  window.addEventListener("message", function (e) {
    if (e.origin !== origin || e.source !== frame.contentWindow) return;
    var d = e.data;
    if (!d || d.pitchin !== "height" || typeof d.height !== "number" || !isFinite(d.height)) return;
    frame.style.height = Math.max(80, Math.min(d.height, 20000)) + "px";
  });
})();
