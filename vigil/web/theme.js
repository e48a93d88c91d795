// Runs before the page draws: apply the theme last seen on this browser, so the page does
// not flash light before app.js reads the device's System.Theme parameter.
(function () {
  var theme = "light";
  try {
    theme = localStorage.getItem("vigil-theme") === "dark" ? "dark" : "light";
  } catch (err) {
    // storage may be off; the device's setting still applies once logged in
  }
  document.documentElement.classList.add("theme-" + theme);
})();
