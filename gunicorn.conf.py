"""gunicorn settings read from the working directory: warm each worker before it serves."""


def post_worker_init(worker):
    """Load the recommender (scikit-learn, the model file, the catalogue snapshot: about 1.2 s of CPU)
    before the first visitor, so nobody waits seconds for the first recommendations page; compile the
    dashboard's sync statements; then settle the worker's garbage collector (``app.worker.settle``)."""
    app = worker.wsgi
    if not hasattr(app, "app_context"):
        return
    with app.app_context():
        from app import recommender
        from app.extensions import db
        from app.services import dashboard

        for what, warm in (("the recommender", recommender.current_engine), ("the dashboard", dashboard.warm)):
            try:
                warm()
            except Exception:  # a missing catalogue or table must not keep the worker from serving other pages
                app.logger.exception("Could not warm %s", what)
            finally:
                db.session.remove()
    from app.worker import settle

    settle()
