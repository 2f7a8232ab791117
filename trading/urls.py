"""``trading:`` pages: portfolio, order ticket, orders and their history, help."""

from django.urls import path

from trading import views

app_name = "trading"

urlpatterns = [
    path("portfolio/", views.portfolio, name="portfolio"),
    path("trade/", views.order_ticket, name="order_ticket"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/reconcile/", views.reconcile_now, name="reconcile"),
    path("orders/<uuid:pk>/", views.order_detail, name="order_detail"),
    path("orders/<uuid:pk>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<uuid:pk>/revise/", views.order_revise, name="order_revise"),
    path("trade/help/", views.trading_help, name="help"),
    path("trade/fees/", views.fee_settings, name="fees"),
]
