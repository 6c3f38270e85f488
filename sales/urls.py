from django.urls import path

from sales import views

app_name = "sales"
urlpatterns = [
    path("board/", views.board, name="board"),
    path("deals/<int:deal_id>/move/", views.deal_move, name="deal_move"),
]
