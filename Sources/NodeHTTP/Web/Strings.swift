import Foundation
import NodeRuntime

/// The UI's languages: Chinese by default, English on request (`?lang=en`, kept in a cookie).
package enum Language: String, Sendable {
    case zh, en

    package static let cookieName = "suifang_lang"

    /// The language a request asks for.
    package static func of(_ query: String?, cookie: String?) -> Language {
        Language(rawValue: query ?? "") ?? Language(rawValue: cookie ?? "") ?? .zh
    }

    package var htmlCode: String { self == .zh ? "zh-CN" : "en" }
}

/// Every text the UI shows, in both languages.
package struct Strings: Sendable {
    package let language: Language

    package subscript(_ key: String) -> String {
        guard let pair = Self.table[key] else { return key }
        return language == .zh ? pair.0 : pair.1
    }

    package static let table: [String: (String, String)] = [
        "app": ("随访", "Suifang"),
        "login": ("登录", "Log in"), "logout": ("退出", "Log out"), "username": ("用户名", "User name"), "password": ("密码", "Password"),
        "loginFailed": ("用户名或密码错误", "Wrong user name or password"),
        "loginThrottled": ("登录失败次数过多，请稍后再试", "Too many failed logins; try again later"),
        "lockedUntil": ("登录锁定至", "login locked until"),
        "ward": ("病区", "Ward"), "desk": ("坐席工作台", "Agent desk"), "office": ("投诉看板", "Complaint board"),
        "patients": ("患者档案", "Patients"), "dashboard": ("统计分析", "Dashboards"), "fleet": ("节点", "Nodes"),
        "linkUp": ("已连接中心", "Linked to central"), "linkDown": ("与中心断开", "No link to central"), "thisIsCentral": ("中心节点", "Central node"),
        "pending": ("待同步", "Not yet synced"),
        "admitted": ("在院患者", "Admitted patients"), "visitDue": ("待探访", "Visit due"), "visited": ("已探访", "Visited"),
        "dueBy": ("截止", "Due by"), "startSurvey": ("开始探访", "Start survey"), "submit": ("提交", "Submit"),
        "surveySaved": ("问卷已保存", "Survey saved"), "required": ("必填", "required"),
        "important": ("重要意见", "Important opinion"), "praise": ("表扬", "Praise"), "opinion": ("意见内容", "Opinion"),
        "queue": ("今日随访", "Today's follow-ups"), "overdue": ("已逾期", "Overdue"), "due": ("到期", "Due"),
        "claim": ("领取", "Claim"), "claimedBy": ("领取人", "Claimed by"), "claimLost": ("领取失败：同事已先领取", "Claim lost: a colleague claimed it first"),
        "record": ("记录结果", "Record outcome"), "outcome": ("结果", "Outcome"), "note": ("备注", "Note"), "nextAction": ("下一步", "Next action"),
        "reached": ("已联系", "Reached"), "noAnswer": ("无人接听", "No answer"), "wrongNumber": ("号码错误", "Wrong number"), "refused": ("拒绝回访", "Refused"),
        "screenPop": ("来电弹屏", "Incoming call"), "search": ("搜索", "Search"), "searchHint": ("姓名、电话或身份证号", "Name, phone or ID number"),
        "name": ("姓名", "Name"), "phone": ("电话", "Phone"), "birthDate": ("出生日期", "Birth date"), "history": ("档案记录", "History"),
        "merge": ("合并到此档案", "Merge into this archive"), "undo": ("撤销合并", "Undo merge"), "mergedId": ("被合并档案号", "Archive to merge"),
        "duplicates": ("疑似重复档案", "Duplicate candidates"), "noRows": ("暂无数据", "Nothing here"),
        "registered": ("登记", "Registered"), "accepted": ("受理", "Accepted"), "investigating": ("跟进", "Investigating"),
        "handled": ("处理", "Handled"), "closed": ("终结", "Closed"), "deadline": ("期限", "Deadline"), "advance": ("推进", "Move on"),
        "nps": ("净推荐值", "Net promoter score"), "satisfaction": ("满意度", "Satisfaction"), "byMode": ("按调查方式", "By survey mode"),
        "table": ("表格", "Table"), "csv": ("下载 CSV", "Download CSV"), "from": ("从", "From"), "to": ("到", "To"),
        "satisfied": ("满意", "Satisfied"), "dissatisfied": ("不满意", "Dissatisfied"), "noOpinion": ("无意见", "No opinion"), "notReached": ("未联系上", "Not reached"),
        "bedside": ("床边", "Bedside"), "phoneMode": ("电话", "Phone"), "sms": ("短信", "SMS"), "kiosk": ("自助机", "Kiosk"),
        "role": ("角色", "Role"), "lastContact": ("最后联系", "Last contact"), "lag": ("延迟", "Lag"), "certExpires": ("证书到期", "Certificate expires"),
        "machines": ("机器凭据", "Machine credentials"), "machineName": ("名称", "Name"), "machineScopes": ("权限范围", "Scopes"),
        "machineCreated": ("创建于", "Created"), "machineLastUsed": ("最后使用", "Last used"), "machineNever": ("从未", "never"),
        "machineActive": ("有效", "active"), "machineRevoked": ("已吊销", "revoked"), "machineCreate": ("新建机器凭据", "New machine credential"),
        "tokenShownOnce": ("令牌只显示这一次：请复制到对方系统（电话系统、HIS 接口引擎、短信网关）的配置中。", "The token is shown only now: copy it into the machine's configuration (PBX, HIS engine, SMS gateway)."),
        "his": ("HIS 接口", "HIS feed"),
        "smsReplies": ("短信回复", "SMS replies"), "smsNoReplies": ("还没有回复。", "No reply yet."), "smsFrom": ("号码", "Number"),
        "smsReceived": ("收到", "Received"), "smsText": ("内容", "Text"), "smsOptedOut": ("已退订", "opted out"),
        "hisIntro": (
            "HIS 通过 HL7 v2（MLLP）发送入院、转科、出院和患者信息。代码表把 HIS 的病区、科室、医生和离院方式代码对应到本系统；未对应的代码使消息被拒收，列在下面，对应后可重放。",
            "The HIS sends admissions, transfers, discharges and patient data as HL7 v2 over MLLP. The code map ties its ward, department, doctor and disposition codes to Suifang's; a message with an unmapped code is refused and listed below, to replay once mapped."
        ),
        "hisRefused": ("未能应用的消息", "Messages not applied"), "hisNoRefused": ("没有待处理的消息。", "No message waits."),
        "hisReceived": ("收到", "Received"), "hisEvent": ("事件", "Event"), "hisControlId": ("消息号", "Control id"), "hisSender": ("发送方", "Sender"),
        "hisReason": ("原因", "Reason"), "hisReplay": ("重放", "Replay"), "hisDismiss": ("忽略", "Dismiss"),
        "hisDismissConfirm": ("确定忽略这条消息？HIS 需重新发送更正。", "Dismiss this message? The HIS must send a correction."),
        "hisReplayed": ("消息已应用。", "The message was applied."), "hisStillRefused": ("消息仍未能应用：见原因。", "The message still cannot be applied: see the reason."),
        "hisCodes": ("代码对照表", "Code map"), "hisCode": ("HIS 代码", "HIS code"), "hisTarget": ("对应到", "Maps to"), "hisRemove": ("删除", "Remove"),
        "hisMap": ("新增对照", "Map a code"), "hisKind-ward": ("病区", "Ward"), "hisKind-department": ("科室", "Department"),
        "hisKind-doctor": ("医生", "Doctor"), "hisKind-disposition": ("离院方式", "Discharge disposition"),
        "certSoon": ("即将到期", "soon"), "certExpired": ("已过期，需重新注册", "expired: enrol again"), "revoke": ("吊销", "Revoke"),
        "pendingOut": ("待发出", "Pending out"), "pendingIn": ("待接收", "Pending in"), "connected": ("在线", "Connected"), "disconnected": ("离线", "Disconnected"),
        "forbidden": ("无权访问此页面", "You may not open this page"), "notFound": ("未找到", "Not found"),
        "audit": ("审计日志", "Audit trail"), "auditEntity": ("记录编号", "Record id"), "auditAction": ("操作", "Action"), "auditEntityKind": ("对象", "Record"), "more": ("更多", "More"),
        "filter": ("筛选", "Filter"), "node": ("节点", "Node"),
        "formExpired": ("表单已过期或来自其他网站，请刷新页面后重试", "The form expired or came from another site; reload the page and try again"),
        "error": ("出错了", "Something went wrong"), "back": ("返回", "Back"), "language": ("English", "中文"),
        "opinionsByDepartment": ("各科室意见", "Opinions by department"), "share": ("占比", "Share"), "coverage": ("随访覆盖率", "Follow-up coverage"),
        "bedside24h": ("入院24小时床边探访", "Bedside visit (24 h)"), "discharge72h": ("出院72小时电话回访", "Discharge call (72 h)"),
        "rule": ("规则随访", "Rule follow-up"), "oneOff": ("单次任务", "One-off task"),
        "phoneSurvey": ("电话问卷", "Phone survey"), "consultation": ("咨询登记", "Consultation"), "topic": ("主题", "Topic"), "content": ("内容", "Content"),
        "handling": ("处理意见", "Handling"), "complaint": ("投诉登记", "Register complaint"), "summary": ("投诉内容", "Summary"), "channel": ("渠道", "Channel"),
        "appointment": ("预约", "Appointment"), "visit": ("门诊", "Visit"), "examination": ("检查", "Examination"), "when": ("时间", "When"),
        "blacklist": ("加入黑名单", "Blacklist"), "unblacklist": ("移出黑名单", "Remove from blacklist"), "reason": ("原因", "Reason"), "save": ("保存", "Save"),
        "saved": ("已保存", "Saved"), "conflicts": ("冲突待处理", "Conflict inbox"), "choose": ("采用此值", "Use this value"),
        "smsComposer": ("短信平台", "SMS"), "audience": ("发送对象", "Audience"), "count": ("统计人数", "Count"), "audienceCount": ("覆盖人数", "Patients reached"),
        "template": ("模板", "Template"), "schedule": ("定时发送", "Send at"), "send": ("发送", "Send"), "outbox": ("发件箱", "Outbox"), "resend": ("重发", "Resend"),
        "status": ("状态", "Status"), "regions": ("地区（逗号分隔）", "Regions (comma separated)"),
        "retryOn": ("无人接听时再次呼叫日期（留空：结束为未联系上）", "If no answer, call again on (empty: close as not reached)"),
        "transferredAt": ("转科时间", "Transferred at"), "cancelAdmissionConfirm": ("撤销这次入院？其随访任务将一并撤回。", "Cancel this admission? Its follow-up tasks are withdrawn."),
        "apptConfirm_noShow": ("标记为未到诊？此操作不能撤回。", "Mark as no-show? This cannot be undone."),
        "apptConfirm_cancelled": ("取消这个预约？此操作不能撤回。", "Cancel this appointment? This cannot be undone."),
        "appointments": ("预约", "Appointments"), "apptDo_confirmed": ("确认就诊", "Confirm visit"), "apptDo_noShow": ("未到诊", "No show"),
        "apptDo_cancelled": ("取消预约", "Cancel"),
        "consultations": ("咨询", "Consultations"), "cs_open": ("待答复", "Open"), "cs_answered": ("已答复", "Answered"), "cs_all": ("全部", "All"),
        "anonymousCaller": ("匿名来电", "Anonymous caller"), "answerConsultation": ("答复", "Answer"), "routeTo": ("转交科室", "Route to"),
        "time": ("时间", "Time"), "caller": ("来电人", "Caller"), "callerPhone": ("来电号码", "Caller's number"),
        "patientOrPhone": ("请填写档案编号或来电号码", "Enter an archive id or the caller's number"),
        "encounters": ("入出院登记", "Admissions and visits"), "inWard": ("在院患者", "In the ward"), "show": ("显示", "Show"),
        "toWard": ("转入病区", "To ward"), "transfer": ("转科", "Transfer"), "discharge": ("出院", "Discharge"), "dischargedAt": ("出院时间", "Discharged at"),
        "cancelAdmission": ("撤销入院", "Cancel admission"), "diagnosisCode": ("诊断编码", "Diagnosis code"), "admitPatient": ("办理入院", "Admit"),
        "outpatientVisit": ("门诊就诊登记", "Record an outpatient visit"), "archiveId": ("已有档案编号", "Existing archive id"),
        "newArchiveName": ("或新建档案：姓名", "Or a new archive: name"), "doctor": ("医生", "Doctor"), "visitAt": ("就诊时间", "Visit time"),
        "timeRequired": ("请填写时间", "Enter the time"), "chooseWard": ("请选择病区", "Choose a ward"), "chooseStatus": ("请选择出院情况", "Choose the discharge status"),
        "ds_cured": ("治愈", "Cured"), "ds_improved": ("好转", "Improved"), "ds_unchanged": ("未愈", "Unchanged"), "ds_died": ("死亡", "Died"),
        "ds_transferred": ("转院", "Transferred"), "encounterSaved": ("已登记", "Recorded"),
        "diseaseCode": ("病种编码（ICD-10 前缀，留空为通用模板）", "Disease code (ICD-10 prefix; empty: the general template)"),
        "diseases": ("疾病编码前缀（逗号分隔）", "Diagnosis prefixes (comma separated)"),
        "departments": ("科室", "Departments"), "dischargedSince": ("出院起始日", "Discharged since"), "dischargedUntil": ("出院截止日", "Discharged until"),
        "templates": ("问卷模板", "Survey templates"), "definition": ("题目（JSON）", "Questions (JSON)"), "version": ("版本", "Version"), "purpose": ("用途", "Purpose"),
        "rules": ("随访规则", "Follow-up rules"), "preview": ("预览匹配患者", "Preview matches"), "kind": ("类型", "Kind"), "trigger": ("触发", "Trigger"),
        "offsets": ("天数（如 1,3,7,30）", "Days (e.g. 1,3,7,30)"), "interval": ("间隔", "Every"), "repeat": ("次数", "Times"),
        "wards": ("病区", "Wards"), "minStay": ("最短住院天数", "Minimum stay (days)"), "maxStay": ("最长住院天数", "Maximum stay (days)"),
        "dischargeStatuses": ("离院方式", "Discharge status"), "matches": ("匹配", "Matches"), "tasks": ("任务", "Tasks"),
        "users": ("用户与角色", "Users and roles"), "displayName": ("显示名", "Display name"), "disabled": ("停用", "Disabled"),
        "visitor": ("床边探访员", "Bedside visitor"), "agent": ("坐席", "Agent"), "manager": ("管理者", "Manager"), "admin": ("系统管理员", "Admin"),
        "question": ("题目", "Question"), "questionText": ("题干", "Question text"), "options": ("选项（每行一个，值=显示文字）", "Options (one per line, value=label)"),
        "showIf": ("仅当此题…", "Only when question…"), "showIfValues": ("…的答案为（逗号分隔）", "…is answered (comma separated)"), "remove": ("删除此题", "Remove"),
        "statRole": ("统计用途", "Used for"), "addQuestion": ("添加题目", "Add a question"), "saveVersion": ("保存为新版本", "Save as a new version"),
        "type_single": ("单选", "Single choice"), "type_multiple": ("多选", "Multiple choice"), "type_scale5": ("1–5 分", "Scale 1–5"),
        "type_nps": ("0–10 推荐", "0–10 recommend"), "type_text": ("文本", "Free text"),
        "label": ("名称", "Name"), "skip": ("跳到正文", "Skip to content"),
        "month": ("月份", "Month"), "year": ("按年", "By year"), "quarter": ("按季度", "By quarter"), "range": ("整个区间", "Whole range"), "responses": ("份数", "Responses"),
        "department": ("科室", "Department"),
        "newPatient": ("新建档案", "New patient"), "editPatient": ("修改档案", "Edit archive"), "gender": ("性别", "Gender"),
        "gender_male": ("男", "Male"), "gender_female": ("女", "Female"), "gender_unknown": ("未知", "Unknown"),
        "idNumber": ("身份证号", "ID number"), "address": ("地址", "Address"), "region": ("地区", "Region"), "category": ("客户类别", "Category"),
        "tags": ("标签（逗号分隔）", "Tags (comma separated)"),
        "event_admitted": ("入院", "Admitted"), "event_visited": ("门诊就诊", "Outpatient visit"), "event_transferred": ("转科", "Transferred"),
        "event_discharged": ("出院", "Discharged"), "event_dischargeCancelled": ("取消出院", "Discharge cancelled"), "event_admissionCancelled": ("取消入院", "Admission cancelled"),
        "surveyEvent": ("问卷", "Survey"), "followUpEvent": ("随访", "Follow-up"), "complaintEvent": ("投诉", "Complaint"),
        "appt_booked": ("已预约", "Booked"), "appt_confirmed": ("已确认就诊", "Visit confirmed"), "appt_cancelled": ("已取消", "Cancelled"), "appt_noShow": ("未到诊", "No show"),
        "sms_queued": ("待发送", "Queued"), "sms_sent": ("已发送", "Sent"), "sms_delivered": ("已送达", "Delivered"), "sms_failed": ("发送失败", "Failed"),
        "sms_cancelled": ("已取消", "Cancelled"),
        "admittedAt": ("入院时间", "Admitted at"), "bedsideVisit": ("床边探访", "Bedside visit"),
        "changePassword": ("修改密码", "Change password"), "oldPassword": ("原密码", "Current password"), "newPassword": ("新密码", "New password"),
        "repeatPassword": ("再次输入新密码", "New password again"), "passwordsDiffer": ("两次输入的新密码不一致", "The new passwords differ"),
        "oldPasswordWrong": ("原密码错误", "The current password is wrong"), "passwordLength": ("新密码须为 8–128 个字符", "The new password must be 8–128 characters"),
        "passwordChanged": ("密码已修改", "Password changed"),
        "node_central": ("中心", "Central"), "node_ward": ("病区网关", "Ward gateway"), "node_callcenter": ("呼叫中心", "Call center"),
        "unit_s": ("秒前", "s ago"), "unit_min": ("分钟前", "min ago"), "unit_h": ("小时前", "h ago"), "unit_d": ("天前", "days ago"),
        "steps": ("处理记录", "Steps"), "who": ("经办人", "By"), "resolution": ("处理结果", "Resolution"), "registeredAt": ("登记时间", "Registered"),
        "responsibleDepartment": ("责任科室", "Responsible department"),
        "channel_phone": ("电话", "Phone"), "channel_visit": ("来访", "Visit"), "channel_letter": ("信件", "Letter"), "channel_online": ("网络", "Online"),
        "conflictHint": (
            "两个节点同时修改了同一项，两个值都已保留；请选择正确的值，选择结果会同步到所有节点。",
            "Two nodes changed the same field at the same time; both values are kept. Choose the right one: the choice reaches every node."
        ),
        "nodeName": ("节点", "Node"),
        "revokeConfirm": ("吊销后该节点将无法再与任何节点同步，且不可撤销。确定吊销？", "A revoked node can never sync with any node again. Revoke it?"),
        "organisation": ("系统管理", "Administration"), "addOrChange": ("新增；填写已有编码即修改", "Add one; an existing code changes it"),
        "code": ("编码", "Code"), "deptCode": ("科室代码", "Department code"), "staffTitle": ("职称", "Title"),
        "ref_department": ("科室", "Departments"), "ref_ward": ("病区", "Wards"), "ref_staff": ("员工", "Staff"), "ref_disease": ("疾病", "Diseases"),
        "systemSettings": ("系统参数", "System parameters"), "setting_hospitalName": ("医院名称（短信落款）", "Hospital name (in SMS)"),
        "setting_complaintDeadlineWorkingDays": ("投诉处理期限（工作日）", "Complaint deadline (working days)"),
        "setting_smsDailyCap": ("每个号码每日短信上限", "SMS per number per day"),
        "calendar": ("工作日历", "Working calendar"), "holiday": ("节假日", "Holiday"), "makeUpWorkday": ("调休上班", "Make-up working day"), "day": ("日期", "Day"),
        "calendarHint": (
            "已内置本年度法定节假日与调休；此处可增加本院的安排，投诉期限按此计算。", "This year's public holidays and make-up days are built in; add the hospital's own here. Complaint deadlines count these days."
        ),
        "smsTemplates": ("短信模板", "SMS templates"), "smsCampaigns": ("群发记录", "Group sends"),
        "smsCancel": ("取消发送", "Cancel"), "smsConfirmCancel": ("确定取消这条短信？", "Cancel this message?"),
        "smsCancelRest": ("取消未发送部分", "Cancel what is not sent"), "smsConfirmCancelCampaign": ("确定取消本次群发中尚未发送的短信？", "Cancel every message of this send not yet sent?"),
        "smsKind_general": ("通用", "General"), "smsKind_birthday": ("生日祝福", "Birthday"), "smsKind_holiday": ("节日问候", "Holiday"),
        "smsKind_followup": ("随访关怀", "Follow-up"), "smsKind_appointment": ("预约提醒", "Appointment reminder"),
        "smsNewTemplate": ("新建模板", "New template"), "smsEditTemplate": ("修改模板", "Change the template"),
        "smsTemplateHint": (
            "可用占位符：{name} 姓名、{date} 日期、{hospital} 医院名称、{department} 科室、{time} 预约时间、{holiday} 节日名称、{surveyLink} 问卷链接（群发或短信规则选定问卷）。编码为 birthday 的模板在患者生日自动发送；holiday（或与节日同名的节日问候模板）在法定节假日首日发送；appointmentReminder 在预约前一天发送。",
            "Placeholders: {name}, {date}, {hospital}, {department}, {time} (an appointment's), {holiday} (its name), {surveyLink} (a link to the survey a group send or an SMS rule names). The template coded birthday goes out on patients' birthdays; holiday (or a holiday template named like the holiday) on a public holiday's first day; appointmentReminder the day before an appointment."
        ),
        "smsSend": ("发送短信", "Send an SMS"), "smsOwnText": ("或自拟内容", "Or your own text"),
        "smsNoPhone": ("档案中没有电话号码", "the archive has no phone number"),
        "smsBodyRequired": ("请选择模板或填写内容", "Choose a template or write a text"),
        "setting_greetingTime": ("生日、节日问候发送时间", "Birthday and holiday greetings go out at"),
        "setting_appointmentReminderTime": ("预约提醒发送时间（前一天）", "Appointment reminders go out at (the day before)"),
        "setting_holidayGreetingDays": ("节日问候对象：近多少天出院的患者", "Holiday greetings go to patients discharged within (days)"),
        "days": ("天", "days"), "months": ("个月", "months"), "ruleUnit": ("间隔单位", "Interval in"),
        "ruleSchedule": ("随访时间", "When"), "ruleAction": ("方式", "Action"), "ruleCall": ("电话随访", "Call"), "ruleSMS": ("发送短信", "SMS"),
        "ruleSurvey": ("问卷（电话随访，或短信中的问卷链接）", "Survey (for the call, or the SMS's survey link)"), "ruleActive": ("启用", "Active"), "ruleInactive": ("已停用", "Inactive"),
        "admission": ("入院", "Admission"), "ruleNew": ("新建规则", "New rule"), "ruleEdit": ("修改规则", "Change the rule"),
        "ruleKind_fixed-offset": ("固定天数", "Fixed days"), "ruleKind_periodic": ("周期", "Periodic"),
        "ruleDaysAfter": ("触发后第", "Days after"), "ruleEvery": ("每", "Every"),
        "ruleApply": ("应用到此前", "Apply since"), "ruleApplySince": ("应用起始日期", "Apply to encounters since"),
        "ruleApplyHint": (
            "规则只对保存后的入院、出院产生任务；“应用到此前”为所选日期以来的就诊补生成任务（已有的不重复）。",
            "A rule makes tasks for admissions and discharges after it is saved; Apply since makes them for encounters since the chosen day (never twice)."
        ),
        "ruleApplied": ("已生成任务", "Tasks made"),
        "taskPlanning": ("随访计划", "Call planning"), "taskNew": ("新建单次随访", "New one-off call"), "taskAssign": ("指派", "Assign"),
        "taskAssignee": ("指派给", "Give to"), "taskMine": ("由我负责", "Keep it for me"), "taskUnclaimed": ("未领取", "Unclaimed"),
        "dueDate": ("应随访日期", "Due"),
        "linkIntro": ("感谢您抽空填写满意度调查，您的意见将帮助我们改进服务。", "Thank you for taking a moment for this survey: your answers help us do better."),
        "linkThanks": ("提交成功，感谢您的反馈！", "Sent. Thank you for your answers!"),
        "linkAnswered": ("此问卷已经提交过了，感谢您的反馈。", "This survey was already answered. Thank you!"),
        "linkExpired": ("此链接已过期。如有意见，请致电医院客服。", "This link has expired. To tell us something, please call the hospital."),
        "linkUnknown": ("链接无效，请检查短信中的完整链接。", "This link is not valid: please open the whole link from the SMS."),
        "setting_surveyLinkBase": ("问卷链接地址（患者访问本节点的网址）", "Survey link address (where patients reach this node)"),
        "setting_surveyLinkDays": ("问卷链接有效天数", "Survey links open for (days)"),
        "smsSurvey": ("问卷（模板含 {surveyLink} 时）", "Survey (for a template with {surveyLink})"),
        "calendarImport": ("导入年度节假日安排", "Import a year's holiday schedule"), "calendarSchedule": ("节假日安排", "Schedule"),
        "calendarImportHint": (
            "每行一天：日期 类型 名称，类型为 holiday（放假）或 workday（调休上班），例如 2027-10-01 holiday 国庆节。先预览，确认无误再导入；有任何一行错误则不导入。",
            "One day per line: date kind name, kind holiday or workday, e.g. 2027-10-01 holiday 国庆节. Preview first, then import; nothing is imported while a line is wrong."
        ),
        "calendarPreviewHint": ("将导入的日期数：", "Days to import:"), "calendarApply": ("确认导入", "Import"),
        "calendarBadLines": ("以下各行有误，未导入任何内容：", "These lines are wrong; nothing was imported:"), "line": ("行", "Line"),
        "calendarMissing": (
            "{year}年的法定节假日安排尚未导入：投诉期限将不计入该年的节假日。请在 系统管理 → 工作日历 中导入国务院公布的安排。",
            "{year}'s public holiday schedule is not imported: complaint deadlines will ignore that year's holidays. Import the State Council's schedule under Administration → Working calendar."
        ),
        "doneRate": ("完成率 %", "Done %"), "onTimeRate": ("按时率 %", "On time %"), "dueCount": ("应随访数", "Due"),
        // Reports, opinion lists, import and export.
        "reports": ("统计报表", "Reports"), "print": ("打印", "Print"), "opinionLists": ("意见列表", "Opinion lists"), "unknown": ("未注明", "Not given"),
        "resultCounts": ("回访结果：满意、不满意、无意见、未联系上", "Results: satisfied, dissatisfied, no opinion, not reached"),
        "resultsBy-doctor": ("按医生统计回访结果", "Results by doctor"), "resultsBy-disease": ("按病种统计回访结果", "Results by disease"),
        "resultsBy-department": ("按科室统计回访结果", "Results by department"), "disease": ("病种", "Disease"),
        "workload": ("人员工作量", "Staff workload"), "calls": ("电话次数", "Calls"), "surveys": ("问卷份数", "Surveys"),
        "complaintSteps": ("投诉处理步骤", "Complaint steps"), "complaintAgeing": ("未结投诉时长", "Open complaints by age"),
        "open": ("未结", "Open"), "workingDays": ("已过工作日", "Working days since registration"), "complaints": ("投诉数", "Complaints"),
        "stage": ("环节", "Stage"), "opinionsByStaff": ("按人员统计意见", "Opinions by member of staff"), "staffMember": ("人员", "Member of staff"),
        "suggestion": ("建议", "Suggestion"), "escalated": ("已上报", "Reported up"), "grade": ("分级", "Grade"),
        "escalationNote": ("上报对象或说明", "Reported to, or why"), "escalate": ("上报", "Report up"),
        "data": ("数据导入导出", "Import and export"), "importCSV": ("导入 CSV", "Import a CSV file"),
        "importHint": (
            "先预览：显示前 10 行和每一行的问题；只要有一行有误，就不导入任何数据。文件可为 UTF-8 或 GB18030（Excel 另存为 CSV）。",
            "Preview first: the first 10 rows and every line's problem are shown; if any line is wrong, nothing is imported. UTF-8 or GB18030 files (Excel's Save as CSV)."
        ),
        "dataset": ("数据类别", "Dataset"), "csvFile": ("选择文件", "Choose a file"), "csvPaste": ("或粘贴 CSV 内容（第一行为列名）", "Or paste the CSV lines (the first names the columns)"),
        "previewRows": ("前 {n} 行", "The first {n} rows"), "exportCSV": ("导出 CSV", "Export as CSV"),
        "surveyExport": ("问卷答卷（每题一列）", "Survey answers (a column per question)"),
        "importRejected": ("{n} 行有误，未导入任何数据。请改正以下各行后重新导入。", "{n} lines are wrong; nothing was imported. Fix these lines and import the file again."),
        "importReady": ("检查通过：{n} 行可以导入，尚未导入。", "Checked: {n} lines can be imported; nothing is imported yet."),
        "importApply": ("导入这 {n} 行", "Import these {n} lines"), "importDone": ("已导入 {n} 行。", "{n} lines imported."),
        "dataset-patients": ("患者档案", "Patients"), "dataset-encounters": ("住院与门诊记录", "Stays and visits"),
        "dataset-responses": ("问卷答卷（原始 JSON）", "Survey responses (raw JSON)"), "dataset-tasks": ("随访任务", "Follow-up tasks"),
        "dataset-followUpRecords": ("随访记录", "Follow-up records"), "dataset-complaints": ("投诉", "Complaints"),
        "dataset-opinions": ("意见（重要意见、表扬、建议）", "Opinions (important, praise, suggestions)"), "dataset-sms": ("短信", "Text messages"),
        "statistics": ("统计", "Statistics"), "counter": ("咨询预约", "Enquiries"), "followUp": ("随访", "Follow-up"),
    ]

    package init(language: Language) {
        self.language = language
    }
}
