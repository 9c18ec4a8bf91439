#!/usr/bin/env bash
# The ALB-with-autoscaling flow of examples/alb-autoscaling-edge.toml done by hand with the
# AWS CLI: what `awslb up -f examples/alb-autoscaling-edge.toml` makes, one command at a time
# (same resources, same settings, same tags), in the order a person following the guide
# would type them. bench/flow.py runs it against a local moto server and times it.
#
# Environment: ENDPOINT_URL (required), AWS (the aws executable, default `aws`), REGION
# (default us-east-1), AWSLB_PYTHON (a python that can `-m awslb`, for the user-data
# script), COUNT_FILE (each AWS CLI process appends one line to it; optional).
set -euo pipefail

: "${ENDPOINT_URL:?set ENDPOINT_URL}"
AWS="${AWS:-aws}"
REGION="${REGION:-us-east-1}"
AWSLB_PYTHON="${AWSLB_PYTHON:-python3}"
COUNT_FILE="${COUNT_FILE:-/dev/null}"

STACK=wcs-edge
DOMAIN=media.example.com
IMAGE_ID=ami-1e749f67

aws_() {
    echo "$1 $2" >>"$COUNT_FILE"
    "$AWS" --endpoint-url "$ENDPOINT_URL" --region "$REGION" --output text "$@"
}

# need VALUE WHAT: stop unless an output we parsed looks like a value.
need() {
    if [[ -z "$1" || "$1" == "None" ]]; then
        echo "flow_awscli.sh: no $2 in the AWS CLI output" >&2
        exit 1
    fi
}

tags_ec2() {  # tags_ec2 RESOURCE_TYPE LOGICAL_ID NAME
    printf 'ResourceType=%s,Tags=[{Key=Name,Value=%s},{Key=awslb:id,Value=%s},{Key=awslb:stack,Value=%s}]' \
        "$1" "$3" "$2" "$STACK"
}

tags_elb() {  # tags_elb LOGICAL_ID NAME: sets ELB_TAGS (one shorthand word per tag)
    ELB_TAGS=("Key=Name,Value=$2" "Key=awslb:id,Value=$1" "Key=awslb:stack,Value=$STACK")
}

# --- The network: the default VPC and one default subnet per zone -----------------------
VPC_ID=$(aws_ ec2 describe-vpcs --filters Name=isDefault,Values=true --query 'Vpcs[0].VpcId')
need "$VPC_ID" "default VPC"
SUBNETS=$(aws_ ec2 describe-subnets \
    --filters "Name=vpc-id,Values=$VPC_ID" Name=default-for-az,Values=true \
    --query 'sort_by(Subnets,&AvailabilityZone)[].SubnetId')
need "$SUBNETS" "default subnets"
read -r -a SUBNET_IDS <<<"$SUBNETS"

# --- The image (step 1.2): it exists, and its root device name for the launch template ---
ROOT_DEVICE=$(aws_ ec2 describe-images --image-ids "$IMAGE_ID" --query 'Images[0].RootDeviceName')
need "$ROOT_DEVICE" "root device of $IMAGE_ID"

# --- Security groups: the balancer's and the media servers' ------------------------------
LB_SG=$(aws_ ec2 create-security-group --group-name "$STACK-balancer" \
    --description "awslb $STACK: load balancer listeners" --vpc-id "$VPC_ID" \
    --tag-specifications "$(tags_ec2 security-group lb-sg "$STACK-balancer")" --query GroupId)
need "$LB_SG" "balancer security group id"
world() {  # world PROTO FROM TO: one rule open to IPv4 and IPv6
    printf '{"IpProtocol":"%s","FromPort":%s,"ToPort":%s,"IpRanges":[{"CidrIp":"0.0.0.0/0"}],"Ipv6Ranges":[{"CidrIpv6":"::/0"}]}' "$1" "$2" "$3"
}
from_group() {  # from_group PROTO FROM TO GROUP
    printf '{"IpProtocol":"%s","FromPort":%s,"ToPort":%s,"UserIdGroupPairs":[{"GroupId":"%s"}]}' "$1" "$2" "$3" "$4"
}
aws_ ec2 authorize-security-group-ingress --group-id "$LB_SG" --ip-permissions \
    "[$(world tcp 8080 8080),$(world tcp 8443 8443)]" >/dev/null

INSTANCE_SG=$(aws_ ec2 create-security-group --group-name "$STACK-instances" \
    --description "awslb $STACK: media servers behind the balancer" --vpc-id "$VPC_ID" \
    --tag-specifications "$(tags_ec2 security-group instance-sg "$STACK-instances")" --query GroupId)
need "$INSTANCE_SG" "instance security group id"
aws_ ec2 authorize-security-group-ingress --group-id "$INSTANCE_SG" --ip-permissions "[$(
    from_group tcp 8080 8084 "$LB_SG"),$(from_group tcp 8443 8445 "$LB_SG"),$(
    from_group tcp 9707 9707 "$LB_SG"),$(world tcp 80 80),$(world tcp 443 443),$(
    world tcp 8888 8888),$(world tcp 9091 9091),$(world udp 1935 1935),$(world udp 30000 33000)]" >/dev/null

# --- Target group: WebSocket 8080, health checks on the stat page, sticky ----------------
tags_elb ws-tg "$STACK-ws"
TG_ARN=$(aws_ elbv2 create-target-group --name "$STACK-ws" --protocol HTTP --port 8080 \
    --protocol-version HTTP1 --target-type instance --vpc-id "$VPC_ID" \
    --health-check-enabled --health-check-protocol HTTP --health-check-port 8081 \
    --health-check-path '/?action=stat' --health-check-interval-seconds 10 \
    --health-check-timeout-seconds 5 --healthy-threshold-count 3 --unhealthy-threshold-count 2 \
    --matcher HttpCode=200 --tags "${ELB_TAGS[@]}" \
    --query 'TargetGroups[0].TargetGroupArn')
need "$TG_ARN" "target group ARN"
aws_ elbv2 modify-target-group-attributes --target-group-arn "$TG_ARN" --attributes \
    Key=deregistration_delay.timeout_seconds,Value=300 Key=stickiness.enabled,Value=true \
    Key=stickiness.lb_cookie.duration_seconds,Value=86400 Key=stickiness.type,Value=lb_cookie >/dev/null

# --- Application Load Balancer, long idle timeout for WebSockets --------------------------
tags_elb alb "$STACK-alb"
ALB_ARN=$(aws_ elbv2 create-load-balancer --name "$STACK-alb" --type application \
    --scheme internet-facing --ip-address-type ipv4 --subnets "${SUBNET_IDS[@]}" \
    --security-groups "$LB_SG" --tags "${ELB_TAGS[@]}" \
    --query 'LoadBalancers[0].LoadBalancerArn')
need "$ALB_ARN" "load balancer ARN"
aws_ elbv2 modify-load-balancer-attributes --load-balancer-arn "$ALB_ARN" --attributes \
    Key=idle_timeout.timeout_seconds,Value=3600 \
    Key=routing.http.drop_invalid_header_fields.enabled,Value=true >/dev/null
aws_ elbv2 wait load-balancer-available --load-balancer-arns "$ALB_ARN"

# --- HTTPS/WSS listener on 8443 with the domain's certificate (step 2.13) -----------------
CERT_ARN=$(aws_ acm list-certificates --certificate-statuses ISSUED \
    --query "CertificateSummaryList[?DomainName=='$DOMAIN'] | [0].CertificateArn")
need "$CERT_ARN" "ISSUED certificate for $DOMAIN"
tags_elb ws-listener "$STACK-ws-listener"
LISTENER_ARN=$(aws_ elbv2 create-listener --load-balancer-arn "$ALB_ARN" --protocol HTTPS --port 8443 \
    --certificates "CertificateArn=$CERT_ARN" --ssl-policy ELBSecurityPolicy-TLS13-1-2-2021-06 \
    --default-actions "Type=forward,TargetGroupArn=$TG_ARN" \
    --tags "${ELB_TAGS[@]}" --query 'Listeners[0].ListenerArn')
need "$LISTENER_ARN" "listener ARN"

# --- Launch template: the Edge setup script, IMDSv2, encrypted gp3 root volume -----------
USERDATA=$("$AWSLB_PYTHON" -m awslb userdata render edge --set cdn_point_of_entry=172.31.43.82 \
    --set heap_size=512m --set update=true --set disable_demo=false | base64 -w0)
need "$USERDATA" "rendered user-data"
LT_DATA=$(cat <<EOF
{"ImageId":"$IMAGE_ID","InstanceType":"c5.large","SecurityGroupIds":["$INSTANCE_SG"],
 "UserData":"$USERDATA",
 "MetadataOptions":{"HttpTokens":"required","HttpEndpoint":"enabled"},
 "BlockDeviceMappings":[{"DeviceName":"$ROOT_DEVICE","Ebs":{"Encrypted":true,"VolumeType":"gp3","DeleteOnTermination":true,"VolumeSize":20}}],
 "TagSpecifications":[
   {"ResourceType":"instance","Tags":[{"Key":"Name","Value":"$STACK-instance"},{"Key":"awslb:stack","Value":"$STACK"}]},
   {"ResourceType":"volume","Tags":[{"Key":"Name","Value":"$STACK-instance"},{"Key":"awslb:stack","Value":"$STACK"}]}],
 "Monitoring":{"Enabled":true}}
EOF
)
LT_ID=$(aws_ ec2 create-launch-template --launch-template-name "$STACK" \
    --version-description "awslb $STACK: edge on c5.large" --launch-template-data "$LT_DATA" \
    --tag-specifications "$(tags_ec2 launch-template launch-template "$STACK")" \
    --query 'LaunchTemplate.LaunchTemplateId')
need "$LT_ID" "launch template id"

# --- Auto Scaling group: 100 % on-demand, two instance types, in the target group ---------
MIXED=$(cat <<EOF
{"LaunchTemplate":{"LaunchTemplateSpecification":{"LaunchTemplateId":"$LT_ID","Version":"\$Latest"},
  "Overrides":[{"InstanceType":"c5.large"},{"InstanceType":"c5.xlarge"}]},
 "InstancesDistribution":{"OnDemandBaseCapacity":0,"OnDemandPercentageAboveBaseCapacity":100}}
EOF
)
SUBNET_LIST=$(IFS=,; echo "${SUBNET_IDS[*]}")
aws_ autoscaling create-auto-scaling-group --auto-scaling-group-name "$STACK" \
    --min-size 1 --max-size 10 --desired-capacity 1 --vpc-zone-identifier "$SUBNET_LIST" \
    --health-check-type ELB --health-check-grace-period 300 \
    --mixed-instances-policy "$MIXED" --target-group-arns "$TG_ARN" \
    --tags "Key=Name,Value=$STACK,PropagateAtLaunch=false" \
    "Key=awslb:id,Value=asg,PropagateAtLaunch=false" \
    "Key=awslb:stack,Value=$STACK,PropagateAtLaunch=true"
aws_ autoscaling put-scaling-policy --auto-scaling-group-name "$STACK" \
    --policy-name awslb-cpu-target --policy-type TargetTrackingScaling --estimated-instance-warmup 300 \
    --target-tracking-configuration \
    '{"PredefinedMetricSpecification":{"PredefinedMetricType":"ASGAverageCPUUtilization"},"TargetValue":70.0}' \
    >/dev/null

# --- Check: the group exists with the target group attached --------------------------------
ATTACHED=$(aws_ autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$STACK" \
    --query 'AutoScalingGroups[0].TargetGroupARNs[0]')
if [[ "$ATTACHED" != "$TG_ARN" ]]; then
    echo "flow_awscli.sh: the group is not attached to $TG_ARN (got $ATTACHED)" >&2
    exit 1
fi
echo "alb $ALB_ARN"
echo "listener $LISTENER_ARN"
echo "asg $STACK"
