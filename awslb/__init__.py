"""awslb: load balancers, images and Auto Scaling groups for media servers on AWS."""

__version__ = "0.1.0"
