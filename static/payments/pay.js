/* Card payment: Stripe.js collects the card on a SetupIntent (confirmCardSetup), the
 * server creates and confirms the PaymentIntent for the amount it computes, and the page
 * calls confirmCardPayment only when the bank asks for 3-D Secure. No card data ever
 * reaches the town's server. Runs the same on Stripe and on localstripe's fake Stripe.js. */
(function () {
  "use strict";
  var root = document.getElementById("card-payment");
  var form = document.getElementById("pay-form");
  if (!root || !form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(root.dataset.publishableKey);
  var card = stripe.elements().create("card", {hidePostalCode: true});
  card.mount("#card-element");
  var button = document.getElementById("pay-button");
  var message = document.getElementById("pay-message");
  var total = document.getElementById("pay-total");
  var euros = new Intl.NumberFormat("fr-FR", {style: "currency", currency: "EUR"});

  function chosen() {
    return Array.prototype.slice.call(form.querySelectorAll("input[name=invoice]:checked"));
  }
  function refreshTotal() {
    var cents = chosen().reduce(function (sum, box) { return sum + parseInt(box.dataset.cents, 10); }, 0);
    total.textContent = euros.format(cents / 100);
    button.textContent = root.dataset.msgPay + " " + euros.format(cents / 100);
    button.disabled = cents === 0;
  }
  form.addEventListener("change", refreshTotal);

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {error: root.dataset.msgFailed}; });
    });
  }
  function fail(text) {
    message.textContent = text || root.dataset.msgFailed;
    message.className = "message error";
    button.disabled = false;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (button.disabled) { return; }  // a double click sends nothing twice
    var ids = chosen().map(function (box) { return box.value; });
    if (!ids.length) { return fail(root.dataset.msgNone); }
    button.disabled = true;
    message.className = "message";
    message.textContent = root.dataset.msgWorking;
    try {
      var prepared = await post(root.dataset.prepareUrl, {invoices: ids});
      if (prepared.error) { return fail(prepared.error); }
      var setup = await stripe.confirmCardSetup(prepared.client_secret, {payment_method: {card: card}});
      if (setup.error) { return fail(setup.error.message); }
      var body = {setup_intent: setup.setupIntent.id};
      var confirmed = await post(prepared.confirm_url, body);
      if (confirmed.error && !confirmed.result_url) { return fail(confirmed.error); }
      if (confirmed.client_secret) {
        var action = await stripe.confirmCardPayment(confirmed.client_secret);
        if (action.error) { window.location.assign(confirmed.result_url); return; }
      }
      window.location.assign(confirmed.result_url || prepared.result_url);
    } catch (error) {
      fail();
    }
  });
  refreshTotal();
})();
