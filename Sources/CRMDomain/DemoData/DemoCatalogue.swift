/// The made-up hospital's departments, diseases and names. Every person in the demo is invented.
enum DemoCatalogue {
    struct Department {
        var id: String
        var name: String
        var diseases: [(code: String, name: String)]
        /// How satisfied its patients tend to be (mean overall score).
        var mood: Double
    }

    static let departments: [Department] = [
        .init(id: "D-CARD", name: "心内科", diseases: [("I21.9", "急性心肌梗死"), ("I10", "原发性高血压"), ("I50.9", "心力衰竭")], mood: 4.4),
        .init(id: "D-NEUR", name: "神经内科", diseases: [("I63.9", "脑梗死"), ("G40.9", "癫痫")], mood: 4.1),
        .init(id: "D-RESP", name: "呼吸内科", diseases: [("J18.9", "肺炎"), ("J44.9", "慢性阻塞性肺病")], mood: 4.2),
        .init(id: "D-GAST", name: "消化内科", diseases: [("K25.9", "胃溃疡"), ("K80.2", "胆囊结石")], mood: 4.0),
        .init(id: "D-ENDO", name: "内分泌科", diseases: [("E11.9", "2型糖尿病"), ("E05.9", "甲状腺功能亢进")], mood: 4.5),
        .init(id: "D-ORTH", name: "骨科", diseases: [("S72.0", "股骨颈骨折"), ("M17.9", "膝关节病")], mood: 3.8),
        .init(id: "D-GSUR", name: "普外科", diseases: [("K35.8", "急性阑尾炎"), ("K40.9", "腹股沟疝")], mood: 4.1),
        .init(id: "D-OBGY", name: "妇产科", diseases: [("O80", "顺产"), ("O82", "剖宫产")], mood: 4.6),
        .init(id: "D-PEDS", name: "儿科", diseases: [("J20.9", "急性支气管炎"), ("A09", "感染性腹泻")], mood: 3.9),
        .init(id: "D-ONCO", name: "肿瘤科", diseases: [("C34.9", "肺恶性肿瘤"), ("C16.9", "胃恶性肿瘤")], mood: 4.3),
        .init(id: "D-UROL", name: "泌尿外科", diseases: [("N20.0", "肾结石"), ("N40", "前列腺增生")], mood: 4.0),
        .init(id: "D-OPHT", name: "眼科", diseases: [("H25.9", "老年性白内障"), ("H40.9", "青光眼")], mood: 4.7),
    ]

    static let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤").map(String.init)
    static let givenCharacters = Array("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强春梅海燕玉兰德福文斌晓红淑珍金凤秀珍荣凤子涵一诺欣怡浩然宇轩梓萱").map(String.init)
    static let regions = ["鼓楼区", "台江区", "仓山区", "晋安区", "马尾区", "长乐区", "闽侯县", "连江县", "福清市", "平潭县"]
    static let streets = ["五四路", "八一七路", "杨桥路", "华林路", "六一路", "福马路", "白马路", "湖东路", "铜盘路", "工业路"]
    static let categories = ["医保", "自费", "职工", "新农合", "VIP"]
    static let praise = ["护士服务态度好", "医生解释病情很耐心", "病房干净整洁", "出院手续办理快", "康复指导很细致"]
    static let complaints = ["候诊时间过长", "夜间病房噪音大", "伙食不合口味", "检查预约等待久", "收费明细不清楚", "护士呼叫响应慢", "停车位不足"]
    static let suggestions = ["希望增加陪护椅", "建议延长探视时间", "希望提供出院用药清单", "建议增加热水供应"]
}
